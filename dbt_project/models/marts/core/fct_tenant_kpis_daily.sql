-- One row per (tenant, day) with any activity: product events, API requests or billed
-- usage. Combines the daily marts (all small, one row per tenant-day) with new users, the
-- user lifecycle (docs/contract.md §5 bi.user_lifecycle_daily) and the plan as of the day.
-- Rebuilt in full on every run (not incremental): new_users (and so resurrecting_users)
-- depends on first-ever activity, which a late earlier day can move; the inputs are per
-- tenant-day, so the cost is tenants x days, never events.
with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
),

api as (
    -- the all-services row: a tenant's p95 is over all its requests, not a mix of services'
    select
        tenant_id,
        request_date,
        requests as api_requests,
        errors_5xx as api_errors,
        latency_p95_ms as api_latency_p95_ms
    from {{ ref('fct_api_requests_daily') }}
    where is_tenant_total
),

billing as (
    select
        tenant_id,
        usage_date,
        sum(amount_usd) as billed_usd
    from {{ ref('fct_billing_daily') }}
    group by tenant_id, usage_date
),

new_users as (
    select
        tenant_id,
        first_seen_date,
        toUInt64(count()) as new_users
    from {{ ref('int_users_first_seen') }}
    group by tenant_id, first_seen_date
),

lifecycle as (
    select * from {{ ref('int_user_lifecycle_daily') }}
),

plans as (
    select * from {{ ref('dim_tenant_plans') }}
),

active_tenant_days as (
    select
        tenant_id,
        activity_date as kpi_date
    from user_activity
    where dau > 0
    union distinct
    select
        tenant_id,
        request_date as kpi_date
    from api
    union distinct
    select
        tenant_id,
        usage_date as kpi_date
    from billing
),

joined as (
    select
        active_tenant_days.tenant_id as tenant_id,
        active_tenant_days.kpi_date as kpi_date,
        user_activity.dau as dau,
        user_activity.wau as wau,
        user_activity.mau as mau,
        user_activity.events as events,
        new_users.new_users as new_users,
        api.api_requests as api_requests,
        api.api_errors as api_errors,
        api.api_latency_p95_ms as api_latency_p95_ms,
        billing.billed_usd as billed_usd,
        lifecycle.returning_users as returning_users,
        lifecycle.active_not_day_before as active_not_day_before,
        lifecycle.dormant_users as dormant_users
    from active_tenant_days
    left join user_activity
        on active_tenant_days.tenant_id = user_activity.tenant_id
        and active_tenant_days.kpi_date = user_activity.activity_date
    left join new_users
        on active_tenant_days.tenant_id = new_users.tenant_id
        and active_tenant_days.kpi_date = new_users.first_seen_date
    left join api
        on active_tenant_days.tenant_id = api.tenant_id
        and active_tenant_days.kpi_date = api.request_date
    left join billing
        on active_tenant_days.tenant_id = billing.tenant_id
        and active_tenant_days.kpi_date = billing.usage_date
    left join lifecycle
        on active_tenant_days.tenant_id = lifecycle.tenant_id
        and active_tenant_days.kpi_date = lifecycle.activity_date
    settings join_use_nulls = 1
),

with_plan as (
    select
        joined.*,
        plans.plan as plan
    from joined
    asof left join plans
        on joined.tenant_id = plans.tenant_id
        and joined.kpi_date >= plans.valid_from
    settings join_use_nulls = 1
),

final as (
    select
        tenant_id,
        kpi_date,
        plan,
        toUInt64(coalesce(dau, 0)) as dau,
        toUInt64(coalesce(wau, 0)) as wau,
        toUInt64(coalesce(mau, 0)) as mau,
        toUInt64(coalesce(events, 0)) as events,
        toUInt64(coalesce(new_users, 0)) as new_users,
        toUInt64(coalesce(api_requests, 0)) as api_requests,
        toUInt64(coalesce(api_errors, 0)) as api_errors,
        if(coalesce(api_requests, 0) = 0, 0, api_errors / api_requests) as api_error_rate,
        api_latency_p95_ms,
        toDecimal128(coalesce(billed_usd, 0), 6) as billed_usd,
        toUInt64(coalesce(returning_users, 0)) as returning_users,
        -- active on the day, not the day before: new (first-ever day) or back after a gap
        toInt64(coalesce(active_not_day_before, 0)) - toInt64(coalesce(new_users, 0))
            as resurrecting_users,
        toUInt64(coalesce(dormant_users, 0)) as dormant_users,
        if(coalesce(mau, 0) = 0, 0, coalesce(dau, 0) / mau) as stickiness
    from with_plan
)

select * from final
