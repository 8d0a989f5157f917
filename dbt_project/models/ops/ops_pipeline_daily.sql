-- Pipeline SLIs per source and day (seed 003): when the day's export landed, when its current
-- rows were loaded and the lag between the two, how long that load took, rows rejected per
-- million, load attempts that failed, and the runs over the day: how many failed, and how long
-- the latest successful one took to build the models. A view: it reads the ledger and the run
-- records as they are when asked (the run that builds it is recorded when it ends).

with

attempts as (
    select
        source,
        partition_date as date,
        load_id,
        min(loaded_at) as started_at,
        max(load_seconds) as load_seconds,
        max(landed_at) as landed_at,
        sum(rows_read) as rows_read,
        sum(rows_rejected) as rows_rejected,
        countIf(status = 'failed') > 0 as failed
    from {{ source('pipeline', 'load_ledger') }}
    group by source, partition_date, load_id
),

per_day as (
    select
        source,
        date,
        count() as load_attempts,
        countIf(failed) as failed_loads
    from attempts
    group by source, date
),

-- The latest successful load of each day: the rows raw holds now. Nullable, so that a day
-- whose loads all failed reads NULL here, not zeros.
current_load as (
    select
        source,
        date,
        argMax(landed_at, started_at) as last_landed_at,
        toNullable(argMax(
            started_at + toIntervalMillisecond(toInt64(load_seconds * 1000)), started_at
        )) as last_loaded_at,
        toNullable(argMax(load_seconds, started_at)) as last_load_seconds,
        toNullable(argMax(rows_read, started_at)) as last_rows_read,
        toNullable(argMax(rows_rejected, started_at)) as last_rows_rejected
    from attempts
    where not failed
    group by source, date
),

run_days as (
    select
        arrayJoin(arrayMap(
            i -> assumeNotNull(first_day) + i,
            range(toUInt32(dateDiff('day', assumeNotNull(first_day), assumeNotNull(last_day)) + 1))
        )) as date,
        status,
        build_seconds,
        ended_at
    from {{ source('pipeline', 'pipeline_runs') }} final
    where first_day is not null and last_day is not null
),

runs as (
    select
        date,
        countIf(status = 'failure') as failed_runs,
        if(countIf(status = 'success') = 0, null,
           argMaxIf(build_seconds, ended_at, status = 'success')) as build_seconds
    from run_days
    group by date
)

select
    per_day.source as source,
    per_day.date as date,
    current_load.last_landed_at as landed_at,
    current_load.last_loaded_at as loaded_at,
    dateDiff('millisecond', current_load.last_landed_at, current_load.last_loaded_at) / 1000
        as load_lag_seconds,
    current_load.last_load_seconds as load_seconds,
    current_load.last_rows_read as rows_read,
    current_load.last_rows_rejected as rows_rejected,
    if(current_load.last_rows_read = 0, 0,
       current_load.last_rows_rejected * 1000000 / current_load.last_rows_read)
        as rejected_per_million,
    per_day.load_attempts as load_attempts,
    per_day.failed_loads as failed_loads,
    runs.failed_runs as failed_runs,
    runs.build_seconds as build_seconds
from per_day
left join current_load on per_day.source = current_load.source and per_day.date = current_load.date
left join runs on per_day.date = runs.date
