{{ config(partition_by='activity_date', order_by=['tenant_id', 'activity_date']) }}

{#-
    One row per (tenant, day) with at least one user active in the 30 days ending that day
    (mau > 0): dau, wau, mau and product events. Each user-day counts toward the 30 days
    starting on it, so a run for [s, e] rebuilds days [s, e + 29] (a late or re-exported day
    changes the wau/mau of the 29 days after it) from user-days [s - 29, e + 29].
-#}
with

user_days as (
    select
        tenant_id,
        user_id,
        activity_date,
        events,
        {{ next_in_order('activity_date', 'tenant_id, user_id') }} as next_activity_date
    from {{ ref('int_user_days_active') }}
    where {{ partition_window('activity_date', 29, 29) }}
),

user_days_by_metric_date as (
    -- days_ago = days since the user's latest active day on or before metric_date: each
    -- active day stands for the days up to the next one (at most 30), so every (user,
    -- metric_date) appears once and the windows are plain counts
    select
        tenant_id,
        activity_date + days_ago as metric_date,
        days_ago,
        if(days_ago = 0, events, 0) as events_on_metric_date
    from user_days
    array join {{ days_until_next('activity_date', 'next_activity_date') }} as days_ago
),

tenant_days as (
    select
        tenant_id,
        metric_date as activity_date,
        toUInt64(countIf(days_ago = 0)) as dau,
        toUInt64(countIf(days_ago <= 6)) as wau,
        toUInt64(count()) as mau,
        toUInt64(sum(events_on_metric_date)) as events
    from user_days_by_metric_date
    where {{ partition_window('metric_date', 0, 29) }}
    group by tenant_id, metric_date
),

final as (
    select * from tenant_days
)

select * from final
