-- Every user is new exactly once: new_users summed over all days = distinct users ever active.
-- It reads several models: the one it checks in Dagster (an asset check) is named here.
{{ config(meta={'dagster': {'ref': {'name': 'kpi_tenant_daily'}}}) }}
with

new_users as (
    select tenant_id, sum(new_users) as total_new_users
    from {{ ref('kpi_tenant_daily') }}
    group by tenant_id
),

-- From the user-day grain rather than the events: the same users, a fraction of the rows.
users as (
    select tenant_id, toUInt64(uniqExact(user_id)) as distinct_users
    from {{ ref('int_user_days_active') }}
    group by tenant_id
)

select *
from users
full outer join new_users
    on users.tenant_id = new_users.tenant_id
where users.distinct_users != new_users.total_new_users
settings join_use_nulls = 1
