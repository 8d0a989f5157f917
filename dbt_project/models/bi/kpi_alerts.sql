-- docs/contract.md §5 bi.kpi_alerts: one row per (tenant_id, date, rule_id) for which a rule fires.
with

alerts as (
    select * from {{ ref('fct_kpi_alerts') }}
),

final as (
    select
        tenant_id,
        kpi_date as date,
        rule_id,
        metric,
        value,
        baseline,
        change
    from alerts
)

select * from final
