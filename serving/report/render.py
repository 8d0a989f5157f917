"""ReportData → one self-contained HTML page (inline CSS and SVG, works offline)."""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from string import Template
from typing import Any

from serving.report import formats, product, svg
from serving.report.data import BENCHMARK_METRICS, RETENTION_DAYS, ReportData
from serving.report.parts import Cell, Markup, element, join, section, table, tile

METRIC_LABELS = {
    "dau": ("Daily active users", formats.fmt_int),
    "api_error_rate": ("API error rate (5xx)", formats.fmt_pct),
    "api_latency_p95_ms": ("API latency p95", formats.fmt_ms),
}

PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
:root { --ink: #1f2933; --muted: #52606d; --line: #e4e7eb; --bg: #f5f7fa; --card: #ffffff;
        --accent: #1f5fbf; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: #102a43; color: #fff; padding: 28px 40px 24px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
header p { margin: 0; color: #bcccdc; }
header .who { color: #fff; font-weight: 600; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 40px 48px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 12px;
         margin-bottom: 20px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
        padding: 12px 16px; }
.tile .k { color: var(--muted); font-size: 12px; text-transform: uppercase;
           letter-spacing: 0.04em; }
.tile .v { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 20px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: 16px 20px 18px; }
section h2 { margin: 0 0 2px; font-size: 17px; }
section .note { margin: 0 0 10px; color: var(--muted); font-size: 13px; }
section h3 { margin: 12px 0 4px; font-size: 14px; color: var(--muted); font-weight: 600; }
.wide { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right;
         white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
th:first-child, td:first-child { text-align: left; }
td.bullet { width: 300px; padding: 2px 10px; }
.muted { color: var(--muted); }
.chart text { font-family: inherit; }
.chart .axis { font-size: 12px; fill: var(--muted); }
.chart .legend, .chart .label { font-size: 13px; fill: var(--ink); }
.chart .value { font-size: 13px; fill: var(--ink); font-weight: 600; }
.chart .cell { font-size: 12px; font-weight: 600; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
</style>
</head>
<body>
<header>
  <h1>$heading</h1>
  <p>$subtitle</p>
</header>
<main>
<div class="tiles">$tiles</div>
<div class="grid">
$sections
</div>
<footer>Generated $generated from the <code>bi</code> views only, $isolation.
Days are UTC. Numbers are embedded below as JSON (<code>#report-data</code>).</footer>
</main>
<script type="application/json" id="report-data">$data</script>
</body>
</html>
""")


def render(data: ReportData, generated: dt.datetime | None = None) -> str:
    generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
    who = f"tenant {data.tenant}" if data.tenant else "all tenants"
    period = f"{data.start} – {data.end}" if data.start else "no data loaded yet"
    isolation = (f"read as the BI login of tenant {escape(data.tenant)} (row policies: its own "
                 "rows, plus anonymous benchmarks)" if data.tenant
                 else "read as an internal analyst (all tenants, read-only)")
    page = PAGE.substitute(
        title=escape(f"KPI report · {who} · {period}"),
        heading=escape("KPI report"),
        subtitle=(element("span", who.capitalize() if not data.tenant else who, "who")
                  + Markup(f" · {escape(period)} (UTC)")).html,
        tiles=join(_tiles(data)).html,
        sections=join(_sections(data), "\n").html,
        generated=escape(generated.isoformat().replace("+00:00", "Z")),
        isolation=isolation,
        data=_script_json(data.as_json()),
    )
    return page


def _script_json(value: Any) -> str:
    """JSON for a <script> element: no "<", so no "</script>" or "<!--" in a name can end or
    bend the element; JSON reads \\u003c back as "<"."""
    text = json.dumps(value, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _tiles(data: ReportData) -> list[Markup]:
    t = data.totals
    if not t:
        return [tile("Status", "no activity loaded")]
    tiles = []
    if "tenants" in t:
        tiles.append(tile("Tenants", formats.fmt_int(t["tenants"])))
    tiles += [
        tile(f"DAU · {t['last_date']}", formats.fmt_int(t["dau"])),
        tile("WAU", formats.fmt_int(t["wau"])),
        tile("MAU", formats.fmt_int(t["mau"])),
        tile("Events", formats.fmt_int(t["events"])),
        tile("New users", formats.fmt_int(t["new_users"])),
        tile("API requests", formats.fmt_int(t["api_requests"])),
        tile("API error rate", f"{t['api_error_rate'] * 100:.2f}%"),
        tile("Billed", f"${t['billed_usd']:,.2f}"),
    ]
    return tiles


def _sections(data: ReportData) -> list[Markup]:
    days = [d["date"] for d in data.daily]
    out = [section(
        "Active users", "Distinct users with at least one product event: on the day (DAU), "
        "in the 7 days (WAU) and 30 days (MAU) ending on it.",
        svg.line_chart(days, {k.upper(): [d[k] for d in data.daily] for k in ("dau", "wau", "mau")},
                       label="DAU, WAU and MAU per day"),
    )]
    total = sum(d["billed_usd"] for d in data.daily)
    out.append(section(
        "Spend", f"Billed USD per usage day · total ${total:,.2f}",
        svg.bar_chart(days, [d["billed_usd"] for d in data.daily], fmt=formats.fmt_usd,
                      height=260, label="billed USD per day", colour=svg.PALETTE[2]),
    ))
    if data.tenant:
        out.append(_benchmark_section(data))
    out.append(_funnel_section(data))
    out.append(product.lifecycle_section(data, days))
    out.append(_retention_section(data))
    out.append(product.weekly_retention_section(data))
    out.append(product.feature_section(data, days))
    out.append(product.alerts_section(data))
    out += _api_sections(data, days)
    if not data.tenant:
        out.append(_top_tenants_section(data))
    return out


def _funnel_section(data: ReportData) -> Markup:
    if not data.funnels:
        return section("Funnels", "No funnel cohorts yet.")
    parts = []
    for funnel_id, steps in data.funnels.items():
        parts.append(element("h3", funnel_id))
        parts.append(svg.funnel_bars([(s["step_event"], s["users"], s["conversion_rate"])
                                      for s in steps], label=f"funnel {funnel_id}"))
        parts.append(table(["step", "users", "conversion", "time to step"], [
            [f"{i}. {s['step_event']}", formats.fmt_int(s["users"]),
             f"{s['conversion_rate'] * 100:.1f}%", formats.fmt_duration(s["seconds_to_step"])]
            for i, s in enumerate(steps, start=1)]))
    return section("Funnels", "Users reaching each step, all cohorts of the period; the "
                   "percentage is conversion from step 1. Time to step: the median time from "
                   "step 1 in each daily cohort, averaged over the cohorts weighted by their "
                   "users.", join(parts))


def _retention_section(data: ReportData) -> Markup:
    cohorts = sorted({r["cohort_date"] for r in data.retention})
    cells = {(r["cohort_date"], r["day_n"]): (r["retention_rate"], r["cohort_size"])
             for r in data.retention}
    body = (svg.heatmap(cohorts, RETENTION_DAYS, cells, label="retention by cohort and day")
            if cohorts else None)
    return section("Retention", "Share of each cohort (users whose first event was that day; "
                    "size in brackets) active again on day n. Grey: not loaded yet.", body)


def _api_sections(data: ReportData, days: list[str]) -> list[Markup]:
    services = [s["service"] for s in data.services]
    by_key = {(r["date"], r["service"]): r for r in data.service_daily}
    latency = {s: [by_key[(d, s)]["latency_p95_ms"] if (d, s) in by_key else None for d in days]
               for s in services}
    errors = {s: [by_key[(d, s)]["error_rate_5xx"] if (d, s) in by_key else None for d in days]
              for s in services}
    rows = [[s["service"], formats.fmt_int(s["requests"]), f"{s['latency_p50_ms']:,.1f}",
             f"{s['latency_p95_ms']:,.1f}", f"{s['latency_p99_ms']:,.1f}",
             f"{s['error_rate_5xx'] * 100:.2f}%", f"{s['error_rate_4xx'] * 100:.2f}%"]
            for s in data.services]
    mean = "" if data.tenant else " across tenants"
    return [
        section("API latency p95 by service", f"Daily p95 in ms (request-weighted{mean}).",
                 svg.line_chart(days, latency, fmt=formats.fmt_ms,
                                label="p95 latency per service")),
        section("API 5xx error rate by service", "Share of requests with status ≥ 500.",
                 svg.line_chart(days, errors, fmt=formats.fmt_pct, label="5xx rate per service")),
        section("API by service", "Whole period. Latency percentiles are exact per tenant and "
                 "day; over several days (and tenants) the table shows their request-weighted "
                 "mean.",
                 table(["service", "requests", "p50 ms", "p95 ms", "p99 ms", "5xx", "4xx"],
                        rows), wide=True),
    ]


def _position(value: float, p25: float, p50: float, p75: float) -> str:
    if value < p25:
        return "below p25"
    if value < p50:
        return "p25 – p50"
    if value <= p75:
        return "p50 – p75"
    return "above p75"


def _benchmark_section(data: ReportData) -> Markup:
    if not data.benchmarks:
        return section("You vs. peers", "No activity on a known plan to compare.", wide=True)
    last = max(b["date"] for b in data.benchmarks)
    plan = next(b["plan"] for b in data.benchmarks if b["date"] == last)
    note = Markup(f"On {escape(last)}: your value (blue) against the tenants on the "
                  f"{escape(plan)} plan that day (your own plan unless <code>--plan</code> says "
                  "otherwise); in the charts the grey band is p25–p75 and the dashed line p50. "
                  "Groups of fewer than 5 tenants are never shown (gaps).")
    parts: list[Markup] = []
    for metric in BENCHMARK_METRICS:
        title, fmt = METRIC_LABELS[metric]
        series = sorted((b for b in data.benchmarks if b["metric"] == metric),
                        key=lambda b: b["date"])
        b = series[-1]
        row: list[str | Cell]
        if b["p50"] is None:
            row = [b["plan"], "–", "–", "–", "–", fmt(b["value"]),
                   Cell("not enough peers", "bullet muted"), ""]
        else:
            row = [b["plan"], str(b["tenants"]), fmt(b["p25"]), fmt(b["p50"]), fmt(b["p75"]),
                   fmt(b["value"]),
                   Cell(svg.bullet(b["value"], b["p25"], b["p50"], b["p75"], fmt=fmt), "bullet"),
                   _position(b["value"], b["p25"], b["p50"], b["p75"])]
        parts.append(element("h3", title))
        parts.append(table(["plan", "peers", "p25", "p50", "p75", "you", "", "position"],
                           [row], "bench"))
        parts.append(svg.line_chart(
            [r["date"] for r in series],
            {"you": [r["value"] for r in series], "peers p50": [r["p50"] for r in series]},
            band=([r["p25"] for r in series], [r["p75"] for r in series]),
            fmt=fmt, width=1240, height=230, label=f"{metric} against peers"))
    return section("You vs. peers", note, join(parts), wide=True)


def _top_tenants_section(data: ReportData) -> Markup:
    rows = [[t["tenant_id"], f"{t['avg_dau']:,.1f}", formats.fmt_int(t["last_mau"]),
             formats.fmt_int(t["events"]), formats.fmt_int(t["api_requests"]),
             f"{t['api_error_rate'] * 100:.2f}%", f"${t['billed_usd']:,.2f}"]
            for t in data.top_tenants]
    return section("Top tenants", "By average daily active users over the period.",
                    table(["tenant", "avg DAU", "MAU (last day)", "events", "API requests",
                            "API 5xx", "billed"], rows), wide=True)


def json_block(html: str) -> dict[str, Any]:
    """The numbers a rendered page embeds (for tests and scripts)."""
    start = html.index('<script type="application/json" id="report-data">')
    start = html.index(">", start) + 1
    end = html.index("</script>", start)
    return json.loads(html[start:end])
