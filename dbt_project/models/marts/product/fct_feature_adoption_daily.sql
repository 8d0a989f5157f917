-- One row per (tenant, day, feature) on which at least one user used the feature (docs/contract.md
-- §5 bi.feature_adoption_daily): users, first-ever users, 30-day users and their share of the
-- tenant's mau. Rebuilt in full on every run (not incremental): new_adopters depends on
-- first uses, which a late earlier day moves. Its inputs are per tenant-day-feature.
with

feature_days as (
    select * from {{ ref('int_feature_users_daily') }}
),

first_uses as (
    select * from {{ ref('int_feature_first_use') }}
),

user_activity as (
    select
        tenant_id,
        activity_date,
        mau
    from {{ ref('fct_user_activity_daily') }}
),

joined as (
    select
        feature_days.tenant_id as tenant_id,
        feature_days.usage_date as usage_date,
        feature_days.feature as feature,
        feature_days.users as users,
        toUInt64(coalesce(first_uses.new_adopters, 0)) as new_adopters,
        feature_days.adopters_30d as adopters_30d,
        toUInt64(coalesce(user_activity.mau, 0)) as mau
    from feature_days
    left join first_uses
        on feature_days.tenant_id = first_uses.tenant_id
        and feature_days.feature = first_uses.feature
        and feature_days.usage_date = first_uses.first_used_date
    left join user_activity
        on feature_days.tenant_id = user_activity.tenant_id
        and feature_days.usage_date = user_activity.activity_date
    settings join_use_nulls = 1
),

final as (
    select
        tenant_id,
        usage_date,
        feature,
        users,
        new_adopters,
        adopters_30d,
        mau,
        -- a feature user is an active user, so mau >= adopters_30d >= 1 here
        adopters_30d / mau as adoption_rate_30d
    from joined
)

select * from final
