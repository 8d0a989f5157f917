-- One row per (tenant, feature, day) on which users used the feature for the first time
-- ever: new_adopters. Rebuilt in full on every run (not incremental): loading an earlier
-- day later moves first uses. Reads only the compact feature-user-day table.
with

first_uses as (
    select
        tenant_id,
        user_id,
        feature,
        min(usage_date) as first_used_date
    from {{ ref('int_feature_user_days') }}
    group by tenant_id, user_id, feature
),

final as (
    select
        tenant_id,
        feature,
        first_used_date,
        toUInt64(count()) as new_adopters
    from first_uses
    group by tenant_id, feature, first_used_date
)

select * from final
