-- One row per (tenant, cohort_week, week_n) for week_n in 0, 1, 2, 3, 4, 8, 12 (docs/contract.md
-- §5 bi.retention_weekly): weeks run Monday to Sunday (UTC); a user's cohort is the week of
-- their first-ever product event; retained users were active on at least one day of the week
-- cohort_week + 7 * week_n. A row exists once that week's Monday is on or before the latest
-- loaded day with product events (a partial week grows as its days load). Rebuilt in full
-- on every run (not incremental): first-seen dates move when an earlier day loads later.
with

first_seen as (
    select
        tenant_id,
        user_id,
        toMonday(first_seen_date) as cohort_week
    from {{ ref('int_users_first_seen') }}
),

user_weeks as (
    select distinct
        tenant_id,
        user_id,
        toMonday(activity_date) as activity_week
    from {{ ref('int_user_days_active') }}
),

latest_loaded_day as (
    select max(activity_date) as latest_day from {{ ref('int_user_days_active') }}
),

week_offsets as (
    select toUInt16(arrayJoin([0, 1, 2, 3, 4, 8, 12])) as week_n
),

cohort_sizes as (
    select
        tenant_id,
        cohort_week,
        toUInt64(count()) as cohort_size
    from first_seen
    group by tenant_id, cohort_week
),

retained as (
    select
        first_seen.tenant_id as tenant_id,
        first_seen.cohort_week as cohort_week,
        toUInt16(intDiv(user_weeks.activity_week - first_seen.cohort_week, 7)) as week_n,
        toUInt64(count()) as retained_users
    from first_seen
    inner join user_weeks
        on first_seen.tenant_id = user_weeks.tenant_id
        and first_seen.user_id = user_weeks.user_id
    where intDiv(user_weeks.activity_week - first_seen.cohort_week, 7) in (0, 1, 2, 3, 4, 8, 12)
    group by tenant_id, cohort_week, week_n
),

cohort_weeks as (
    select
        cohort_sizes.tenant_id as tenant_id,
        cohort_sizes.cohort_week as cohort_week,
        week_offsets.week_n as week_n,
        cohort_sizes.cohort_size as cohort_size
    from cohort_sizes
    cross join week_offsets
    where cohort_sizes.cohort_week + 7 * week_offsets.week_n
        <= (select latest_loaded_day.latest_day from latest_loaded_day)
),

final as (
    select
        cohort_weeks.tenant_id as tenant_id,
        cohort_weeks.cohort_week as cohort_week,
        cohort_weeks.week_n as week_n,
        cohort_weeks.cohort_size as cohort_size,
        toUInt64(coalesce(retained.retained_users, 0)) as retained_users,
        retained_users / cohort_weeks.cohort_size as retention_rate
    from cohort_weeks
    left join retained
        on cohort_weeks.tenant_id = retained.tenant_id
        and cohort_weeks.cohort_week = retained.cohort_week
        and cohort_weeks.week_n = retained.week_n
    settings join_use_nulls = 1
)

select * from final
