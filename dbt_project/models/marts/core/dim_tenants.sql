-- One row per tenant ever seen in a tenants snapshot, with its attributes as of the latest
-- snapshot that contains it.
with

snapshots as (
    select * from {{ ref('stg_product__tenants') }}
),

latest as (
    select
        tenant_id,
        argMax(tenant_name, snapshot_date) as tenant_name,
        argMax(plan, snapshot_date) as plan,
        argMax(region, snapshot_date) as region,
        argMax(created_at, snapshot_date) as created_at,
        argMax(is_active, snapshot_date) as is_active,
        min(snapshot_date) as first_snapshot_date,
        max(snapshot_date) as last_snapshot_date
    from snapshots
    group by tenant_id
),

final as (
    select * from latest
)

select * from final
