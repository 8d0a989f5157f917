-- Within a cohort, users never increase from one step to the next, and step 1 has users.
with

steps as (
    select
        tenant_id,
        funnel_id,
        cohort_date,
        step_index,
        users,
        lagInFrame(users, 1, users) over (
            partition by tenant_id, funnel_id, cohort_date order by step_index
            rows between unbounded preceding and current row
        ) as previous_users
    from {{ ref('funnel_daily') }}
)

select *
from steps
where users > previous_users
    or (step_index = 1 and users = 0)
