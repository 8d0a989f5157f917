-- One row per product event: duplicated deliveries of an event_id count once.
-- The loader guarantees ts falls on the partition's day, so event_date = the partition and
-- a filter on event_date prunes raw partitions.
with

source as (
    select * from {{ source('raw', 'product_events') }}
),

renamed as (
    select
        event_id,
        tenant_id,
        user_id,
        session_id,
        event,
        ts as occurred_at,
        _partition_date as event_date,
        properties,
        app_version,
        os,
        locale,
        event_version,
        _loaded_at as loaded_at
    from source
    where _delivery = 1  -- the first delivery of each id that day (the loader marks repeats)
)

select * from renamed
