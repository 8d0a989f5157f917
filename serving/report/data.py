"""The report's numbers, read from the `bi` views only, through one isolated session.

The same queries run for a tenant and for the analyst: they aggregate over the rows the
session can see, and the row policies (docs/contract.md §6) decide which rows those are. So a
tenant's report is its own numbers, and the analyst's report is the sum over all tenants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from serving.access.sessions import ReadClient

# docs/contract.md §5: the benchmarked metrics.
BENCHMARK_METRICS = ("dau", "api_error_rate", "api_latency_p95_ms")
RETENTION_DAYS = (0, 1, 7, 14, 30)
RETENTION_WEEKS = (0, 1, 2, 3, 4, 8, 12)


@dataclass
class ReportData:
    tenant: str | None
    start: str | None
    end: str | None
    totals: dict[str, Any] = field(default_factory=dict)
    daily: list[dict[str, Any]] = field(default_factory=list)
    funnels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    retention: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    service_daily: list[dict[str, Any]] = field(default_factory=list)
    benchmarks: list[dict[str, Any]] = field(default_factory=list)
    top_tenants: list[dict[str, Any]] = field(default_factory=list)
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)
    weekly_retention: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def _rows(client: ReadClient, sql: str, parameters: dict[str, Any] | None = None) -> list[dict]:
    result = client.query(sql, parameters=parameters or {})
    names = list(result.column_names)
    return [{n: _plain(v) for n, v in zip(names, row, strict=False)} for row in result.result_rows]


DAILY_SQL = """
SELECT date,
       sum(v.dau) AS dau, sum(v.wau) AS wau, sum(v.mau) AS mau,
       sum(v.events) AS events, sum(v.new_users) AS new_users,
       sum(v.api_requests) AS api_requests, sum(v.api_errors) AS api_errors,
       if(sum(v.api_requests) = 0, 0, sum(v.api_errors) / sum(v.api_requests)) AS api_error_rate,
       toFloat64(sum(v.billed_usd)) AS billed_usd
FROM bi.kpi_tenant_daily AS v
GROUP BY date ORDER BY date
"""

# A median does not add up over cohorts: the report shows the users-weighted mean of the
# daily cohorts' medians, and says so.
FUNNEL_SQL = """
SELECT funnel_id, step_index, any(v.step_event) AS step_event, sum(v.users) AS users,
       if(sum(v.users) = 0, NULL,
          sumIf(v.median_seconds_to_step * v.users, v.median_seconds_to_step IS NOT NULL)
          / sum(v.users)) AS seconds_to_step
FROM bi.funnel_daily AS v
GROUP BY funnel_id, step_index ORDER BY funnel_id, step_index
"""

def _retention_sql(view: str, cohort: str, offset: str) -> str:
    return f"""
SELECT {cohort}, {offset}, sum(v.cohort_size) AS cohort_size,
       sum(v.retained_users) AS retained_users,
       if(sum(v.cohort_size) = 0, 0, sum(v.retained_users) / sum(v.cohort_size)) AS retention_rate
FROM bi.{view} AS v
GROUP BY {cohort}, {offset} ORDER BY {cohort}, {offset}
"""


RETENTION_SQL = _retention_sql("retention_cohorts", "cohort_date", "day_n")
WEEKLY_RETENTION_SQL = _retention_sql("retention_weekly", "cohort_week", "week_n")

# Percentiles do not add up across days or tenants: the report shows the request-weighted
# mean of the daily per-tenant percentiles, and says so.
SERVICES_SQL = """
SELECT service, sum(v.requests) AS requests, sum(v.errors_5xx) AS errors_5xx,
       sum(v.errors_4xx) AS errors_4xx,
       if(sum(v.requests) = 0, 0, sum(v.errors_5xx) / sum(v.requests)) AS error_rate_5xx,
       if(sum(v.requests) = 0, 0, sum(v.errors_4xx) / sum(v.requests)) AS error_rate_4xx,
       sum(v.latency_p50_ms * v.requests) / greatest(sum(v.requests), 1) AS latency_p50_ms,
       sum(v.latency_p95_ms * v.requests) / greatest(sum(v.requests), 1) AS latency_p95_ms,
       sum(v.latency_p99_ms * v.requests) / greatest(sum(v.requests), 1) AS latency_p99_ms
FROM bi.api_usage_daily AS v
GROUP BY service ORDER BY service
"""

SERVICE_DAILY_SQL = """
SELECT date, service, sum(v.requests) AS requests,
       sum(v.latency_p95_ms * v.requests) / greatest(sum(v.requests), 1) AS latency_p95_ms,
       if(sum(v.requests) = 0, 0, sum(v.errors_5xx) / sum(v.requests)) AS error_rate_5xx
FROM bi.api_usage_daily AS v
GROUP BY date, service ORDER BY date, service
"""

TENANT_KPIS_SQL = """
SELECT date, plan, dau, api_error_rate, api_latency_p95_ms
FROM bi.kpi_tenant_daily WHERE tenant_id = {tenant:String} ORDER BY date
"""

BENCHMARKS_SQL = """
SELECT date, plan, metric, tenants, p25, p50, p75
FROM bi.benchmarks_daily ORDER BY date, plan, metric
"""

LIFECYCLE_SQL = """
SELECT date, sum(v.new_users) AS new_users, sum(v.returning_users) AS returning_users,
       sum(v.resurrecting_users) AS resurrecting_users, sum(v.dormant_users) AS dormant_users
FROM bi.user_lifecycle_daily AS v
GROUP BY date ORDER BY date
"""

# Users belong to one tenant, so adopters add up across tenants; the rate's denominator is
# every tenant's mau that day (from `daily`), not only the tenants that used the feature.
FEATURES_SQL = """
SELECT date, feature, sum(v.users) AS users, sum(v.new_adopters) AS new_adopters,
       sum(v.adopters_30d) AS adopters_30d
FROM bi.feature_adoption_daily AS v
GROUP BY date, feature ORDER BY date, feature
"""

ALERTS_SQL = """
SELECT date, tenant_id, rule_id, metric, value, baseline, change
FROM bi.kpi_alerts
ORDER BY date DESC, tenant_id, rule_id LIMIT {limit:UInt32}
"""

TOP_TENANTS_SQL = """
SELECT tenant_id,
       round(avg(v.dau), 1) AS avg_dau,
       argMax(v.mau, date) AS last_mau,
       sum(v.events) AS events,
       sum(v.api_requests) AS api_requests,
       if(sum(v.api_requests) = 0, 0, sum(v.api_errors) / sum(v.api_requests)) AS api_error_rate,
       toFloat64(sum(v.billed_usd)) AS billed_usd
FROM bi.kpi_tenant_daily AS v
GROUP BY tenant_id ORDER BY avg_dau DESC, tenant_id LIMIT {limit:UInt32}
"""


ALERTS_SHOWN = 20  # the latest alerts; bi.kpi_alerts has them all


def read_report_data(client: ReadClient, tenant: str | None, top: int = 10,
                     plan: str | None = None) -> ReportData:
    """Everything the page shows. `client` is a tenant or analyst session (never admin)."""
    daily = _rows(client, DAILY_SQL)
    data = ReportData(
        tenant=tenant,
        start=daily[0]["date"] if daily else None,
        end=daily[-1]["date"] if daily else None,
        daily=daily,
    )
    for row in _rows(client, FUNNEL_SQL):
        steps = data.funnels.setdefault(row["funnel_id"], [])
        first = steps[0]["users"] if steps else row["users"]
        row["conversion_rate"] = round(row["users"] / first, 6) if first else 0.0
        steps.append(row)
    data.retention = _rows(client, RETENTION_SQL)
    data.weekly_retention = _rows(client, WEEKLY_RETENTION_SQL)
    data.lifecycle = _rows(client, LIFECYCLE_SQL)
    mau = {d["date"]: d["mau"] for d in daily}
    data.features = [{**f, "adoption_rate_30d": round(f["adopters_30d"] / mau[f["date"]], 6)
                      if mau.get(f["date"]) else 0.0} for f in _rows(client, FEATURES_SQL)]
    data.alerts = _rows(client, ALERTS_SQL, {"limit": ALERTS_SHOWN})
    data.services = _rows(client, SERVICES_SQL)
    data.service_daily = _rows(client, SERVICE_DAILY_SQL)
    data.totals = _totals(daily, data.services)
    if tenant is not None:
        data.benchmarks = _benchmarks(client, tenant, plan)
    else:
        data.top_tenants = _rows(client, TOP_TENANTS_SQL, {"limit": top})
        data.totals["tenants"] = _rows(
            client, "SELECT uniqExact(tenant_id) AS n FROM bi.kpi_tenant_daily"
        )[0]["n"]
    return data


def _totals(daily: list[dict[str, Any]], services: list[dict[str, Any]]) -> dict[str, Any]:
    if not daily:
        return {}
    last = daily[-1]
    requests = sum(d["api_requests"] for d in daily)
    errors = sum(d["api_errors"] for d in daily)
    return {
        "last_date": last["date"],
        "dau": last["dau"],
        "wau": last["wau"],
        "mau": last["mau"],
        "events": sum(d["events"] for d in daily),
        "new_users": sum(d["new_users"] for d in daily),
        "api_requests": requests,
        "api_error_rate": round(errors / requests, 6) if requests else 0.0,
        "billed_usd": round(sum(d["billed_usd"] for d in daily), 2),
        "services": len(services),
    }


def _benchmarks(client: ReadClient, tenant: str, plan: str | None) -> list[dict[str, Any]]:
    """Per day: the tenant's value beside the quartiles of the tenants on its plan that day
    (kpi_tenant_daily.plan; or on `plan`, when given). A day without a plan has no peers;
    groups of fewer than 5 tenants are absent from the view ("not enough peers")."""
    bands = {(b["date"], b["plan"], b["metric"]): b for b in _rows(client, BENCHMARKS_SQL)}
    out = []
    for kpis in _rows(client, TENANT_KPIS_SQL, {"tenant": tenant}):
        peers_plan = plan or kpis["plan"]
        if not peers_plan:
            continue
        for metric in BENCHMARK_METRICS:
            band = bands.get((kpis["date"], peers_plan, metric)) or {}
            out.append({
                "date": kpis["date"], "plan": peers_plan, "metric": metric,
                "value": kpis[metric], "tenants": band.get("tenants"),
                "p25": band.get("p25"), "p50": band.get("p50"), "p75": band.get("p75"),
            })
    return out
