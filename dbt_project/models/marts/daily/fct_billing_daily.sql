{{ config(partition_by='usage_date', order_by=['tenant_id', 'usage_date', 'service', 'metric']) }}

-- One row per (tenant, usage day, service, metric): billed quantity and amount in USD.
with

line_items as (
    select * from {{ ref('stg_billing__line_items') }}
    where {{ partition_window('usage_date') }}
),

billed as (
    select
        tenant_id,
        usage_date,
        service,
        metric,
        toUInt64(count()) as line_items,
        toDecimal128(sum(quantity), 6) as quantity,
        toDecimal128(sum(amount_usd), 6) as amount_usd
    from line_items
    group by tenant_id, usage_date, service, metric
),

final as (
    select * from billed
)

select * from final
