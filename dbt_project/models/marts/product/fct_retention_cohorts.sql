-- One row per (tenant, cohort_date, day_n) for day_n in 0, 1, 7, 14, 30: the users whose
-- first-ever product event is on cohort_date and how many of them were active on
-- cohort_date + day_n. A row exists once the day cohort_date + day_n has been loaded (a day
-- with product events): a gap in the loaded days shows no row, not a retention of 0. Rebuilt in full on every run (not incremental): first-seen dates move when
-- an earlier day is loaded later. Reads only the compact user-day and first-seen tables.
with

first_seen as (
    select
        tenant_id,
        user_id,
        first_seen_date as cohort_date
    from {{ ref('int_users_first_seen') }}
),

user_days as (
    select * from {{ ref('int_user_days_active') }}
),

loaded_days as (
    select distinct activity_date from user_days
),

day_offsets as (
    select toUInt16(arrayJoin([0, 1, 7, 14, 30])) as day_n
),

cohort_sizes as (
    select
        tenant_id,
        cohort_date,
        toUInt64(count()) as cohort_size
    from first_seen
    group by tenant_id, cohort_date
),

retained as (
    select
        first_seen.tenant_id as tenant_id,
        first_seen.cohort_date as cohort_date,
        toUInt16(user_days.activity_date - first_seen.cohort_date) as day_n,
        toUInt64(count()) as retained_users
    from first_seen
    inner join user_days
        on first_seen.tenant_id = user_days.tenant_id
        and first_seen.user_id = user_days.user_id
    where user_days.activity_date - first_seen.cohort_date in (0, 1, 7, 14, 30)
    group by tenant_id, cohort_date, day_n
),

cohort_days as (
    select
        cohort_sizes.tenant_id as tenant_id,
        cohort_sizes.cohort_date as cohort_date,
        day_offsets.day_n as day_n,
        cohort_sizes.cohort_size as cohort_size
    from cohort_sizes
    cross join day_offsets
    where cohort_sizes.cohort_date + day_offsets.day_n in (select loaded_days.activity_date from loaded_days)
),

final as (
    select
        cohort_days.tenant_id as tenant_id,
        cohort_days.cohort_date as cohort_date,
        cohort_days.day_n as day_n,
        cohort_days.cohort_size as cohort_size,
        retained.retained_users as retained_users,
        retained.retained_users / cohort_days.cohort_size as retention_rate
    from cohort_days
    left join retained
        on cohort_days.tenant_id = retained.tenant_id
        and cohort_days.cohort_date = retained.cohort_date
        and cohort_days.day_n = retained.day_n
)

select * from final
