{{ config(partition_by='activity_date', order_by=['tenant_id', 'activity_date', 'user_id'], build_in_day_batches=true) }}

-- One row per (tenant, user, day) on which the user was active (>= 1 product event).
-- The compact building block for dau/wau/mau, first-seen and retention.
with

events as (
    select
        tenant_id,
        user_id,
        event_date,
        occurred_at
    from {{ ref('stg_product__events') }}
    where {{ partition_window('event_date') }}
),

user_days as (
    select
        tenant_id,
        event_date as activity_date,
        user_id,
        toUInt64(count()) as events,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from events
    group by tenant_id, event_date, user_id
),

final as (
    select * from user_days
)

select * from final
