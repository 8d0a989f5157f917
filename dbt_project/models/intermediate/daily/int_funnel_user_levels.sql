{{ config(partition_by='cohort_date', order_by=['tenant_id', 'funnel_id', 'cohort_date', 'user_id']) }}

{#-
    One row per (tenant, funnel, cohort_date, user): the user's funnel level for the cohort of
    day d (docs/contract.md §5, bi.funnel_daily). This is ClickHouse windowFunnel(window) with the
    first condition restricted to day d, written as a fold so that the steps come from the
    seed `funnel_definitions` (adding a funnel = adding seed rows):
      events sorted by (time, step_index); slot k holds the step-1 time of the latest chain that
      reached step k; a step-1 event on day d opens a chain; step k extends slot k-1 when it
      happens no later than window_hours after that chain's step-1 event (inclusive, in ms).
      Level = number of filled slots. Steps at the same timestamp count in step order.
    Time to step k (docs/contract.md: the shortest over the user's step-1 events of the greedy
    chain's step-k time minus its start): each step-k event that extends slot k - 1 takes
    (its time - that slot's start); the smallest is kept. The latest start that reached
    step k - 1 gives the shortest time for that event, and every chain's own step-k event is
    among them, so the minimum is the same as over the chains.
    Window: a run for [s, e] rebuilds the cohorts [s - lookback, e] and reads events
    [s - lookback, e + lookback], lookback = funnel_lookback_days() (../macros/).
-#}
with

funnel_steps as (
    select
        funnel_id,
        step_index,
        event,
        window_hours
    from {{ ref('funnel_definitions') }}
),

funnels as (
    select
        funnel_id,
        toUInt8(max(step_index)) as steps,
        toInt64(max(window_hours)) * 3600000 as window_ms
    from funnel_steps
    group by funnel_id
),

events as (
    select
        tenant_id,
        user_id,
        event,
        event_date,
        occurred_at
    from {{ ref('stg_product__events') }}
    where {{ partition_window('event_date', funnel_lookback_days(), funnel_lookback_days()) }}
        and event in (select funnel_steps.event from funnel_steps)
),

step_events as (
    select
        events.tenant_id as tenant_id,
        events.user_id as user_id,
        funnel_steps.funnel_id as funnel_id,
        funnel_steps.step_index as step_index,
        events.event_date as event_date,
        toUnixTimestamp64Milli(events.occurred_at) as occurred_ms
    from events
    inner join funnel_steps
        on events.event = funnel_steps.event
),

cohort_entries as (
    select distinct
        tenant_id,
        user_id,
        funnel_id,
        event_date as cohort_date
    from step_events
    where step_index = 1
        and {{ partition_window('event_date', funnel_lookback_days()) }}
),

cohort_step_events as (
    -- the user's step events from the start of day d to the end of d's last possible window;
    -- step 1 counts only on day d itself
    select
        cohort_entries.tenant_id as tenant_id,
        cohort_entries.funnel_id as funnel_id,
        cohort_entries.cohort_date as cohort_date,
        cohort_entries.user_id as user_id,
        funnels.steps as steps,
        funnels.window_ms as window_ms,
        step_events.occurred_ms as occurred_ms,
        step_events.step_index as step_index
    from cohort_entries
    inner join funnels
        on cohort_entries.funnel_id = funnels.funnel_id
    inner join step_events
        on cohort_entries.tenant_id = step_events.tenant_id
        and cohort_entries.user_id = step_events.user_id
        and cohort_entries.funnel_id = step_events.funnel_id
    where step_events.event_date >= cohort_entries.cohort_date
        and (step_events.step_index > 1 or step_events.event_date = cohort_entries.cohort_date)
        and step_events.occurred_ms
            <= toUnixTimestamp64Milli(toDateTime64(cohort_entries.cohort_date + 1, 3, 'UTC'))
                + funnels.window_ms
),

user_steps as (
    select
        tenant_id,
        funnel_id,
        cohort_date,
        user_id,
        any(steps) as steps,
        any(window_ms) as window_ms,
        arraySort(groupArray((occurred_ms, step_index))) as ordered_steps
    from cohort_step_events
    group by tenant_id, funnel_id, cohort_date, user_id
),

levels as (
    -- the fold's state: (slot k's chain start, the user's shortest time to step k), in ms
    select
        tenant_id,
        funnel_id,
        cohort_date,
        user_id,
        arrayFold(
            (state, step) -> if(
                step.2 = 1,
                (
                    arrayMap((start, slot) -> if(slot = 1, step.1, start), state.1, arrayEnumerate(state.1)),
                    arrayMap((best, slot) -> if(slot = 1, 0, best), state.2, arrayEnumerate(state.2))
                ),
                if(
                    state.1[step.2 - 1] >= 0 and step.1 <= state.1[step.2 - 1] + window_ms,
                    (
                        arrayMap(
                            (start, slot) -> if(slot = step.2, state.1[step.2 - 1], start),
                            state.1,
                            arrayEnumerate(state.1)
                        ),
                        arrayMap(
                            (best, slot) -> if(
                                slot = step.2 and (best < 0 or step.1 - state.1[step.2 - 1] < best),
                                step.1 - state.1[step.2 - 1],
                                best
                            ),
                            state.2,
                            arrayEnumerate(state.2)
                        )
                    ),
                    state
                )
            ),
            ordered_steps,
            (arrayWithConstant(steps, toInt64(-1)), arrayWithConstant(steps, toInt64(-1)))
        ) as folded,
        toUInt8(arrayCount(start -> start >= 0, folded.1)) as level,
        arrayMap(best -> if(best < 0, null, best / 1000), folded.2) as seconds_to_step
    from user_steps
),

final as (
    select
        tenant_id,
        funnel_id,
        cohort_date,
        user_id,
        level,
        seconds_to_step
    from levels
)

select * from final
