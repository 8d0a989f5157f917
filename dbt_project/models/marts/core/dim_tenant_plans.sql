-- The plan history of each tenant (type-2 slowly changing dimension): one row per period
-- over which the tenant's plan, read from the daily snapshots, stayed the same.
-- The plan "as of date d" (docs/contract.md §5) is the plan of the latest snapshot on or before d
-- that contains the tenant = the row with valid_from <= d <= valid_to (valid_to null = still
-- current). Join with `asof left join ... and d >= valid_from`. Before a tenant's first
-- snapshot it has no plan.
with

snapshots as (
    select
        tenant_id,
        snapshot_date,
        plan
    from {{ ref('stg_product__tenants') }}
),

with_previous as (
    select
        tenant_id,
        snapshot_date,
        plan,
        lagInFrame(plan, 1, '') over (
            partition by tenant_id order by snapshot_date
            rows between unbounded preceding and current row
        ) as previous_plan,
        row_number() over (partition by tenant_id order by snapshot_date) as snapshot_number
    from snapshots
),

plan_changes as (
    select
        tenant_id,
        plan,
        snapshot_date as valid_from
    from with_previous
    where snapshot_number = 1 or plan != previous_plan
),

periods as (
    select
        tenant_id,
        plan,
        valid_from,
        {{ next_in_order('valid_from', 'tenant_id') }} - 1 as valid_to
    from plan_changes
),

final as (
    select
        tenant_id,
        plan,
        valid_from,
        valid_to,
        valid_to is null as is_current
    from periods
)

select * from final
