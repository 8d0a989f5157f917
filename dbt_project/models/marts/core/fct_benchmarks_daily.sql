-- Cross-tenant benchmarks: one row per (day, plan, metric) for dau, api_error_rate and
-- api_latency_p95_ms with the number of tenants that have a value and the exact linear
-- quartiles of their values. Groups of fewer than 5 tenants are dropped so no tenant can be
-- singled out. A tenant "has a value" when its bi.kpi_tenant_daily row that day has the
-- metric non-null: dau and api_error_rate on every active tenant-day (0 when no product
-- events / no requests), api_latency_p95_ms only on days with requests. Tenants with no
-- plan yet (no snapshot on or before the day) are left out.
with

kpis as (
    select * from {{ ref('fct_tenant_kpis_daily') }}
    where plan is not null
),

metric_values as (
    select
        kpi_date,
        plan,
        tenant_id,
        metric_value.1 as metric,
        metric_value.2 as value
    from kpis
    array join {{ metric_values(['dau', 'api_error_rate', 'api_latency_p95_ms']) }} as metric_value
),

groups as (
    select
        kpi_date,
        plan,
        metric,
        toUInt64(uniqExact(tenant_id)) as tenants,
        quantilesExactInclusive(0.25, 0.5, 0.75)(assumeNotNull(value)) as quartiles
    from metric_values
    where value is not null
    group by kpi_date, plan, metric
),

final as (
    select
        kpi_date,
        toString(assumeNotNull(plan)) as plan,
        toString(metric) as metric,
        tenants,
        toFloat64(quartiles[1]) as p25,
        toFloat64(quartiles[2]) as p50,
        toFloat64(quartiles[3]) as p75
    from groups
    where tenants >= 5
)

select * from final
