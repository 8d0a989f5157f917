{{ config(partition_by='usage_date', order_by=['tenant_id', 'usage_date', 'feature']) }}

{#-
    One row per (tenant, feature, day) on which at least one user used the feature: users
    that day and distinct users over the 30 days ending that day. As with mau, each
    feature-user-day counts toward the 30 days starting on it, so a run for [s, e] rebuilds
    days [s, e + 29] from feature-user-days [s - 29, e + 29].
-#}
with

feature_days as (
    select
        tenant_id,
        user_id,
        feature,
        usage_date
    from {{ ref('int_feature_user_days') }}
    where {{ partition_window('usage_date', 29, 29) }}
),

feature_days_by_metric_date as (
    select
        tenant_id,
        user_id,
        feature,
        usage_date + days_ago as metric_date,
        days_ago
    from feature_days
    array join range(30) as days_ago
),

final as (
    select
        tenant_id,
        feature,
        metric_date as usage_date,
        toUInt64(uniqExactIf(user_id, days_ago = 0)) as users,
        toUInt64(uniqExact(user_id)) as adopters_30d
    from feature_days_by_metric_date
    where {{ partition_window('metric_date', 0, 29) }}
    group by tenant_id, feature, metric_date
    having users > 0
)

select * from final
