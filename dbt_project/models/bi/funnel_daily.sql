-- docs/contract.md §5 bi.funnel_daily: one row per (tenant_id, funnel_id, cohort_date, step_index).
with

funnel_steps as (
    select * from {{ ref('fct_funnel_daily') }}
),

final as (
    select
        tenant_id,
        funnel_id,
        cohort_date,
        step_index,
        step_event,
        users,
        conversion_rate,
        median_seconds_to_step
    from funnel_steps
)

select * from final
