"""The report's numbers, read from the `bi` views only, through one isolated session.

The same queries run for a tenant and for the analyst: they aggregate over the rows the
session can see, and the row policies (CONTRACT.md §6) decide which rows those are. So a
tenant's report is its own numbers, and the analyst's report is the sum over all tenants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from saas_warehouse.access.sessions import ReadClient
from saas_warehouse.contract import PLANS

# CONTRACT.md §5: the benchmarked metrics.
BENCHMARK_METRICS = ("dau", "api_error_rate", "api_latency_p95_ms")
RETENTION_DAYS = (0, 1, 7, 14, 30)


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

FUNNEL_SQL = """
SELECT funnel_id, step_index, any(v.step_event) AS step_event, sum(v.users) AS users
FROM bi.funnel_daily AS v
GROUP BY funnel_id, step_index ORDER BY funnel_id, step_index
"""

RETENTION_SQL = """
SELECT cohort_date, day_n, sum(v.cohort_size) AS cohort_size,
       sum(v.retained_users) AS retained_users,
       if(sum(v.cohort_size) = 0, 0, sum(v.retained_users) / sum(v.cohort_size)) AS retention_rate
FROM bi.retention_cohorts AS v
GROUP BY cohort_date, day_n ORDER BY cohort_date, day_n
"""

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
SELECT date, dau, api_error_rate, api_latency_p95_ms
FROM bi.kpi_tenant_daily WHERE tenant_id = {tenant:String} ORDER BY date
"""

BENCHMARKS_SQL = """
SELECT date, plan, metric, tenants, p25, p50, p75
FROM bi.benchmarks_daily ORDER BY date, plan, metric
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


def read_report_data(client: ReadClient, tenant: str | None, top: int = 10) -> ReportData:
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
    data.services = _rows(client, SERVICES_SQL)
    data.service_daily = _rows(client, SERVICE_DAILY_SQL)
    data.totals = _totals(daily, data.services)
    if tenant is not None:
        data.benchmarks = _benchmarks(client, tenant)
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


def _benchmarks(client: ReadClient, tenant: str) -> list[dict[str, Any]]:
    """Per (date, plan, metric): the tenant's value beside the plan's quartiles.

    The `bi` views do not say which plan a tenant is on (CONTRACT.md §5), so every plan's
    band is kept; groups of fewer than 5 tenants are absent from the view ("not enough
    peers").
    """
    mine = {r["date"]: r for r in _rows(client, TENANT_KPIS_SQL, {"tenant": tenant})}
    bands = {(b["date"], b["plan"], b["metric"]): b for b in _rows(client, BENCHMARKS_SQL)}
    out = []
    for date, kpis in mine.items():
        for plan in PLANS:
            for metric in BENCHMARK_METRICS:
                band = bands.get((date, plan, metric))
                out.append({
                    "date": date, "plan": plan, "metric": metric, "value": kpis[metric],
                    "tenants": band["tenants"] if band else None,
                    "p25": band["p25"] if band else None,
                    "p50": band["p50"] if band else None,
                    "p75": band["p75"] if band else None,
                })
    return out
