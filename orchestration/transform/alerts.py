"""The KPI alerts that fired on a run's days (bi.kpi_alerts, rules in the seed alert_rules), as
a warn-severity asset check on the alerts view: Dagster alert policies or a sensor route a
failed check to Slack or e-mail (docs/alerts.md)."""

import datetime as dt

import dagster as dg

from orchestration.partitions import WAREHOUSE_POOL, run_days
from orchestration.raw.metadata import markdown_table
from orchestration.resources import WarehouseResource

ALERTS_KEY = dg.AssetKey(["bi", "kpi_alerts"])
ALERTS_CHECK = "no_kpi_alerts"
_SHOWN = 50  # rows in the metadata table; the count covers all of them

_ALERTS_SQL = """
SELECT tenant_id, date, rule_id, metric, value, baseline, change
FROM bi.kpi_alerts
WHERE date BETWEEN {start:Date} AND {end:Date}
ORDER BY date, tenant_id, rule_id
"""
_ALL_DAYS = (dt.date(1970, 1, 1), dt.date(2149, 6, 6))  # ClickHouse's Date range


@dg.asset_check(
    asset=ALERTS_KEY,
    name=ALERTS_CHECK,
    description="No alert rule (seed alert_rules) fired on the run's days; when one did, "
    "the metadata lists each (tenant, day, rule) with its value and baseline.",
    pool=WAREHOUSE_POOL,
)
def kpi_alerts_check(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    # The run's days: its partition range (the check itself is not partitioned); a run of
    # the unpartitioned views alone checks every day.
    days = run_days(context.op_execution_context)
    start, end = days or _ALL_DAYS
    label = ("every day" if days is None
             else f"{start}…{end}" if start != end else start.isoformat())
    with warehouse.open(on_wait=context.log.info) as client:
        result = client.query(_ALERTS_SQL, parameters={"start": start, "end": end})
    rows = [[t, d.isoformat(), rule, metric, round(value, 6), round(baseline, 6),
             f"{change:+.1%}"]
            for t, d, rule, metric, value, baseline, change in result.result_rows]
    for row in rows[:_SHOWN]:
        context.log.info(f"KPI alert {row[2]}: tenant {row[0]} on {row[1]}: {row[3]} "
                         f"{row[4]} vs {row[5]} a week earlier ({row[6]})")
    if rows:
        context.log.warning(f"{len(rows)} KPI alert(s) fired on {label}: see the "
                            f"check {ALERTS_CHECK} on bi/kpi_alerts, or SELECT * FROM "
                            "bi.kpi_alerts")
    header = ["tenant", "date", "rule", "metric", "value", "baseline", "change"]
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "alerts_fired": dg.MetadataValue.int(len(rows)),
            "days": label,
            "tenants": dg.MetadataValue.int(len({r[0] for r in rows})),
            "alerts": dg.MetadataValue.md(markdown_table(header, rows[:_SHOWN]) if rows
                                          else "none"),
        },
    )
