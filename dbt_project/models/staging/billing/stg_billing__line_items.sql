-- One row per billing line item: duplicated deliveries of a line_item_id count once.
-- usage_date equals the partition's day (checked by the loader).
with

source as (
    select * from {{ source('raw', 'billing_line_items') }}
),

renamed as (
    select
        line_item_id,
        tenant_id,
        _partition_date as usage_date,
        service,
        metric,
        quantity,
        unit_price_usd,
        amount_usd,
        currency,
        _loaded_at as loaded_at
    from source
    where _delivery = 1  -- the first delivery of each id that day (the loader marks repeats)
)

select * from renamed
