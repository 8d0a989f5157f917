-- docs/contract.md §5 bi.user_lifecycle_daily: one row per row of bi.kpi_tenant_daily.
with

kpis as (
    select * from {{ ref('fct_tenant_kpis_daily') }}
),

final as (
    select
        tenant_id,
        kpi_date as date,
        new_users,
        returning_users,
        resurrecting_users,
        dormant_users,
        stickiness
    from kpis
)

select * from final
