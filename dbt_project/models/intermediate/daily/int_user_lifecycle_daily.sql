{{ config(partition_by='activity_date', order_by=['tenant_id', 'activity_date']) }}

{#-
    One row per (tenant, day) with users active on that day or the day before: how many were
    active on both days (returning), on the day but not the day before, and on the day before
    but not on the day (dormant). Day d depends on d - 1 and d only, so a run for [s, e]
    rebuilds days [s, e + 1] from user-days [s - 1, e + 1]. The split of "active, not the day
    before" into new and resurrecting users needs first-ever days, which a late earlier day
    moves: fct_tenant_kpis_daily does it over every day.
-#}
with

user_days as (
    select * from {{ ref('int_user_days_active') }}
    where {{ partition_window('activity_date', 1, 1) }}
),

user_days_by_date as (
    -- each user-day seen from its own day (days_before = 0) and from the next (1)
    select
        tenant_id,
        user_id,
        activity_date + days_before as lifecycle_date,
        days_before
    from user_days
    array join [0, 1] as days_before
),

users_by_date as (
    select
        tenant_id,
        user_id,
        lifecycle_date,
        max(days_before = 0) as active_on_date,
        max(days_before = 1) as active_day_before
    from user_days_by_date
    where {{ partition_window('lifecycle_date', 0, 1) }}
    group by tenant_id, user_id, lifecycle_date
),

final as (
    select
        tenant_id,
        lifecycle_date as activity_date,
        toUInt64(countIf(active_on_date and active_day_before)) as returning_users,
        toUInt64(countIf(active_on_date and not active_day_before)) as active_not_day_before,
        toUInt64(countIf(active_day_before and not active_on_date)) as dormant_users
    from users_by_date
    group by tenant_id, lifecycle_date
)

select * from final
