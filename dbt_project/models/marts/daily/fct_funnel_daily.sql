{{ config(partition_by='cohort_date', order_by=['tenant_id', 'funnel_id', 'cohort_date', 'step_index']) }}

{#-
    One row per (tenant, funnel, cohort_date, step): users whose level reached the step, the
    conversion from step 1 and the median time to the step. Rebuilds the same cohort days as int_funnel_user_levels:
    [s - funnel_lookback_days(), e].
-#}
with

levels as (
    select * from {{ ref('int_funnel_user_levels') }}
    where {{ partition_window('cohort_date', funnel_lookback_days()) }}
),

funnel_steps as (
    select
        funnel_id,
        step_index,
        event
    from {{ ref('funnel_definitions') }}
),

users_by_step as (
    select
        levels.tenant_id as tenant_id,
        levels.funnel_id as funnel_id,
        levels.cohort_date as cohort_date,
        funnel_steps.step_index as step_index,
        any(funnel_steps.event) as step_event,
        toUInt64(countIf(levels.level >= funnel_steps.step_index)) as users,
        -- median over the users who reached the step; null when none did
        if(
            users = 0,
            null,
            quantileExactInclusiveIf(0.5)(
                assumeNotNull(levels.seconds_to_step[funnel_steps.step_index]),
                levels.level >= funnel_steps.step_index
            )
        ) as median_seconds_to_step
    from levels
    inner join funnel_steps
        on levels.funnel_id = funnel_steps.funnel_id
    group by levels.tenant_id, levels.funnel_id, levels.cohort_date, funnel_steps.step_index
),

final as (
    select
        tenant_id,
        funnel_id,
        cohort_date,
        step_index,
        step_event,
        users,
        users / sum(if(step_index = 1, users, 0))
            over (partition by tenant_id, funnel_id, cohort_date) as conversion_rate,
        median_seconds_to_step
    from users_by_step
)

select * from final
