{{ config(partition_by='event_date', order_by=['tenant_id', 'occurred_at', 'user_id'], build_in_day_batches=true) }}

-- One row per product event (duplicated deliveries removed), partitioned by day.
with

events as (
    select * from {{ ref('stg_product__events') }}
    where {{ partition_window('event_date') }}
),

final as (
    select
        event_id,
        tenant_id,
        user_id,
        session_id,
        event,
        occurred_at,
        event_date,
        properties,
        app_version,
        os,
        locale,
        event_version
    from events
)

select * from final
