-- docs/contract.md §5 bi.retention_weekly: one row per (tenant_id, cohort_week, week_n).
with

cohorts as (
    select * from {{ ref('fct_retention_weekly') }}
),

final as (
    select
        tenant_id,
        cohort_week,
        week_n,
        cohort_size,
        retained_users,
        retention_rate
    from cohorts
)

select * from final
