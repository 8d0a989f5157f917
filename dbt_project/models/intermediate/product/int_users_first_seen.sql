-- One row per (tenant, user) that ever had a product event: the first-ever active day over
-- everything loaded. Rebuilt in full on every run (not incremental): loading an earlier day
-- later moves first-seen dates, which no day window can bound. It reads only the compact
-- user-day table, never the events.
with

user_days as (
    select * from {{ ref('int_user_days_active') }}
),

first_seen as (
    select
        tenant_id,
        user_id,
        min(activity_date) as first_seen_date,
        min(first_event_at) as first_seen_at,
        max(activity_date) as last_seen_date,
        toUInt64(count()) as active_days
    from user_days
    group by tenant_id, user_id
),

final as (
    select * from first_seen
)

select * from final
