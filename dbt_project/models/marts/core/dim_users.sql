-- One row per (tenant, user) seen in a users snapshot or in the product events: attributes
-- as of the latest snapshot that contains the user, and the first/last active days.
with

snapshots as (
    select * from {{ ref('stg_product__users') }}
),

first_seen as (
    select * from {{ ref('int_users_first_seen') }}
),

latest as (
    select
        tenant_id,
        user_id,
        argMax(role, snapshot_date) as role,
        argMax(signed_up_at, snapshot_date) as signed_up_at,
        argMax(email_sha256, snapshot_date) as email_sha256,
        max(snapshot_date) as last_snapshot_date
    from snapshots
    group by tenant_id, user_id
),

user_keys as (
    select
        tenant_id,
        user_id
    from latest
    union distinct
    select
        tenant_id,
        user_id
    from first_seen
),

final as (
    select
        user_keys.tenant_id as tenant_id,
        user_keys.user_id as user_id,
        latest.role as role,
        latest.signed_up_at as signed_up_at,
        latest.email_sha256 as email_sha256,
        latest.last_snapshot_date as last_snapshot_date,
        first_seen.first_seen_date as first_seen_date,
        first_seen.last_seen_date as last_seen_date,
        coalesce(first_seen.active_days, 0) as active_days,
        latest.user_id is not null as is_in_snapshot
    from user_keys
    left join latest
        on user_keys.tenant_id = latest.tenant_id
        and user_keys.user_id = latest.user_id
    left join first_seen
        on user_keys.tenant_id = first_seen.tenant_id
        and user_keys.user_id = first_seen.user_id
    settings join_use_nulls = 1
)

select * from final
