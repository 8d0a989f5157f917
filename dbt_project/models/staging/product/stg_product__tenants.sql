-- Tenant snapshots: one row per (snapshot_date, tenant_id); every daily export is a full
-- snapshot of all tenants as of that day.
with

source as (
    select * from {{ source('raw', 'tenants') }}
),

renamed as (
    select
        tenant_id,
        _partition_date as snapshot_date,
        tenant_name,
        plan,
        region,
        created_at,
        is_active,
        _loaded_at as loaded_at
    from source
    where _delivery = 1  -- the first delivery of each id that day (the loader marks repeats)
)

select * from renamed
