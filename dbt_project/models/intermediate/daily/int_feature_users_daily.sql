{{ config(partition_by='usage_date', order_by=['tenant_id', 'usage_date', 'feature']) }}

{#-
    One row per (tenant, feature, day) on which at least one user used the feature: users
    that day and distinct users over the 30 days ending that day. As with mau, each
    feature-user-day counts toward the 30 days starting on it, so a run for [s, e] rebuilds
    days [s, e + 29] from feature-user-days [s - 29, e + 29].
    A use counts toward the days up to the user's next use of the feature (at most 30): each
    (user, day) of the 30-day window then appears once, so count() replaces a distinct count,
    and a daily user adds one row per day instead of thirty.
-#}
with

feature_days as (
    select
        tenant_id,
        user_id,
        feature,
        usage_date,
        {{ next_in_order('usage_date', 'tenant_id, feature, user_id') }} as next_usage_date
    from {{ ref('int_feature_user_days') }}
    where {{ partition_window('usage_date', 29, 29) }}
),

feature_days_by_metric_date as (
    select
        tenant_id,
        feature,
        usage_date + days_ago as metric_date,
        days_ago
    from feature_days
    array join {{ days_until_next('usage_date', 'next_usage_date') }} as days_ago
),

final as (
    select
        tenant_id,
        feature,
        metric_date as usage_date,
        toUInt64(countIf(days_ago = 0)) as users,
        toUInt64(count()) as adopters_30d
    from feature_days_by_metric_date
    where {{ partition_window('metric_date', 0, 29) }}
    group by tenant_id, feature, metric_date
    having users > 0
)

select * from final
