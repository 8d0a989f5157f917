{{ config(partition_by='usage_date', order_by=['tenant_id', 'feature', 'usage_date', 'user_id']) }}

-- One row per (tenant, user, feature, day) on which the user used the feature: `feature_used`
-- events whose properties hold a string `feature` (docs/contract.md §5; an event without it, or
-- with a number or an object there, names no feature and is not counted).
with

feature_events as (
    select * from {{ ref('stg_product__events') }}
    where {{ partition_window('event_date') }}
        and event = 'feature_used'
),

named as (
    select
        tenant_id,
        user_id,
        event_date as usage_date,
        JSONExtractString(properties, 'feature') as feature
    from feature_events
    where JSONType(properties, 'feature') = 'String'
),

final as (
    select
        tenant_id,
        user_id,
        feature,
        usage_date,
        toUInt64(count()) as uses
    from named
    group by tenant_id, user_id, feature, usage_date
)

select * from final
