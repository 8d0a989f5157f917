-- docs/contract.md §5 bi.kpi_tenant_daily: one row per (tenant_id, date) with any activity.
with

kpis as (
    select * from {{ ref('fct_tenant_kpis_daily') }}
),

final as (
    select
        tenant_id,
        kpi_date as date,
        coalesce(plan, '') as plan,
        dau,
        wau,
        mau,
        events,
        new_users,
        api_requests,
        api_errors,
        api_error_rate,
        api_latency_p95_ms,
        billed_usd
    from kpis
)

select * from final
