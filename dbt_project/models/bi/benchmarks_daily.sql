-- docs/contract.md §5 bi.benchmarks_daily: one row per (date, plan, metric); never a tenant_id.
with

benchmarks as (
    select * from {{ ref('fct_benchmarks_daily') }}
),

final as (
    select
        kpi_date as date,
        plan,
        metric,
        tenants,
        p25,
        p50,
        p75
    from benchmarks
)

select * from final
