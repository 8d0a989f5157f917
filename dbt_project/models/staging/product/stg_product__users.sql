-- User snapshots: one row per (snapshot_date, tenant_id, user_id); every daily export is a
-- full snapshot of all users as of that day.
with

source as (
    select * from {{ source('raw', 'users') }}
),

renamed as (
    select
        user_id,
        tenant_id,
        _partition_date as snapshot_date,
        role,
        signup_at as signed_up_at,
        email_sha256,
        _loaded_at as loaded_at
    from source
    where _delivery = 1  -- the first delivery of each id that day (the loader marks repeats)
)

select * from renamed
