-- docs/contract.md §5 bi.retention_cohorts: one row per (tenant_id, cohort_date, day_n).
with

cohorts as (
    select * from {{ ref('fct_retention_cohorts') }}
),

final as (
    select
        tenant_id,
        cohort_date,
        day_n,
        cohort_size,
        retained_users,
        retention_rate
    from cohorts
)

select * from final
