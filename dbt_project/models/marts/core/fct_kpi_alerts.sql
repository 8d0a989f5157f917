-- One row per (tenant, day, rule) for which a rule of the seed alert_rules fires (docs/contract.md
-- §5 bi.kpi_alerts): the tenant's metric that day against its baseline, the same metric on
-- the day a week earlier (0 when the tenant had no row that day). A NULL value or baseline
-- (api_latency_p95_ms on a day without requests) never fires. Rebuilt in full on every run,
-- like the tenant-day KPIs it reads.
with

kpis as (
    select * from {{ ref('fct_tenant_kpis_daily') }}
),

rules as (
    select * from {{ ref('alert_rules') }}
),

metric_values as (
    -- every numeric column of bi.kpi_tenant_daily a rule may name
    select
        tenant_id,
        kpi_date,
        metric_value.1 as metric,
        metric_value.2 as value
    from kpis
    array join {{ metric_values([
        'dau', 'wau', 'mau', 'events', 'new_users',
        'api_requests', 'api_errors', 'api_error_rate', 'api_latency_p95_ms', 'billed_usd',
    ]) }} as metric_value
    where metric_value.1 in (select rules.metric from rules)
),

with_baseline as (
    select
        current_day.tenant_id as tenant_id,
        current_day.kpi_date as kpi_date,
        current_day.metric as metric,
        current_day.value as value,
        -- no row a week earlier: baseline 0 (it then never reaches min_baseline > 0)
        if(week_before.tenant_id is null, toNullable(0.0), week_before.value) as baseline
    from metric_values as current_day
    left join metric_values as week_before
        on current_day.tenant_id = week_before.tenant_id
        and current_day.metric = week_before.metric
        and current_day.kpi_date - 7 = week_before.kpi_date
    settings join_use_nulls = 1
),

fired as (
    select
        with_baseline.tenant_id as tenant_id,
        with_baseline.kpi_date as kpi_date,
        rules.rule_id as rule_id,
        with_baseline.metric as metric,
        with_baseline.value as value,
        with_baseline.baseline as baseline
    from with_baseline
    inner join rules
        on with_baseline.metric = rules.metric
    where with_baseline.baseline >= rules.min_baseline
        and (
            (rules.kind = 'drop_pct' and with_baseline.value < with_baseline.baseline * (1 - rules.threshold))
            or (rules.kind = 'rise_pct' and with_baseline.value > with_baseline.baseline * (1 + rules.threshold))
        )
),

final as (
    select
        tenant_id,
        kpi_date,
        rule_id,
        toString(metric) as metric,
        assumeNotNull(value) as value,
        assumeNotNull(baseline) as baseline,
        value / baseline - 1 as change
    from fired
)

select * from final
