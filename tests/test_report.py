"""`saas-warehouse report`: the numbers it shows are the bi views', read under BI isolation,
and the page renders in headless Chromium (screenshots in docs/screenshots/)."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from support import bi_oracle as oracle
from support.browser import SCREENSHOTS, png_size, screenshot
from support.samples import BUILT_DAYS, BUILT_START

from saas_warehouse.settings import Settings
from saas_warehouse_cli.main import main
from serving.access.sessions import analyst_session, tenant_session
from serving.report import build_report, json_block
from serving.report.data import ALERTS_SHOWN, BENCHMARK_METRICS, ReportData
from serving.report.render import render


def _built_days() -> list[dt.date]:
    return [BUILT_START + dt.timedelta(days=i) for i in range(BUILT_DAYS)]


def _iso(day) -> str:
    return day.isoformat()[:10]  # a date or a pandas Timestamp


@pytest.fixture(scope="module")
def busiest_tenant(built_warehouse: Settings) -> str:
    with analyst_session(built_warehouse.warehouse_url) as client:
        return client.query(
            "SELECT tenant_id FROM bi.kpi_tenant_daily GROUP BY tenant_id "
            "ORDER BY sum(events) DESC, tenant_id LIMIT 1"
        ).result_rows[0][0]


@pytest.fixture(scope="module")
def all_tenants(built_warehouse: Settings) -> list[str]:
    with analyst_session(built_warehouse.warehouse_url) as client:
        return [r[0] for r in client.query(
            "SELECT DISTINCT tenant_id FROM analytics.dim_tenants").result_rows]


@pytest.fixture(scope="module")
def tenant_html(built_warehouse: Settings, busiest_tenant: str) -> str:
    return build_report(built_warehouse.warehouse_url, tenant=busiest_tenant)


@pytest.fixture(scope="module")
def analyst_html(built_warehouse: Settings) -> str:
    return build_report(built_warehouse.warehouse_url)


def test_tenant_report_shows_the_tenants_bi_numbers(
    built_warehouse: Settings, busiest_tenant: str, tenant_html: str
) -> None:
    data = json_block(tenant_html)
    # Computed independently: the pandas oracle over the same export files.
    landing, days = built_warehouse.landing_url, _built_days()

    def frame(view, **where):
        out = oracle.ALL_VIEWS[view][0](landing, days)
        for column, value in where.items():
            out = out[out[column] == value]
        return out

    def rows(view, **where) -> list[dict]:
        return frame(view, **where).to_dict("records")

    def summed(view, keys: list[str], values: list[str]) -> list[dict]:
        totals = frame(view, tenant_id=busiest_tenant).groupby(keys, as_index=False)[values].sum()
        return totals.to_dict("records")

    kpis = sorted(rows("kpi_tenant_daily", tenant_id=busiest_tenant), key=lambda r: r["date"])
    funnels = summed("funnel_daily", ["funnel_id", "step_index"], ["users"])
    retention = rows("retention_cohorts", tenant_id=busiest_tenant)
    services = summed("api_usage_daily", ["service"], ["requests", "errors_5xx"])
    bench = rows("benchmarks_daily")

    assert data["tenant"] == busiest_tenant
    assert (data["start"], data["end"]) == (_iso(kpis[0]["date"]), _iso(kpis[-1]["date"]))
    assert len(data["daily"]) == len(kpis)
    for shown, row in zip(data["daily"], kpis, strict=False):
        assert shown["date"] == _iso(row["date"])
        for column in ("dau", "wau", "mau", "events", "new_users", "api_requests", "api_errors"):
            assert shown[column] == row[column], (column, row["date"])
        assert shown["api_error_rate"] == pytest.approx(row["api_error_rate"], abs=1e-6)
        assert shown["billed_usd"] == pytest.approx(row["billed_usd"], abs=1e-6)

    shown_funnels = {(f, s["step_index"]): s["users"]
                     for f, steps in data["funnels"].items() for s in steps}
    assert shown_funnels == {(r["funnel_id"], r["step_index"]): r["users"] for r in funnels}
    for steps in data["funnels"].values():
        assert steps[0]["conversion_rate"] == 1.0
        for step in steps:
            expected = step["users"] / steps[0]["users"]
            assert step["conversion_rate"] == pytest.approx(expected, abs=1e-6)

    shown_retention = {(r["cohort_date"], r["day_n"]): (r["cohort_size"], r["retained_users"])
                       for r in data["retention"]}
    assert shown_retention == {(_iso(r["cohort_date"]), r["day_n"]):
                               (r["cohort_size"], r["retained_users"]) for r in retention}
    assert {s["service"]: (s["requests"], s["errors_5xx"]) for s in data["services"]} == {
        r["service"]: (r["requests"], r["errors_5xx"]) for r in services}

    # Benchmarks: the tenant's own daily value beside its own plan's quartiles, or absent.
    bands = {(_iso(r["date"]), r["plan"], r["metric"]): r for r in bench}
    by_day = {_iso(r["date"]): r for r in kpis}
    assert data["benchmarks"]
    assert {(b["date"], b["plan"]) for b in data["benchmarks"]} == {
        (day, r["plan"]) for day, r in by_day.items() if r["plan"]}
    for b in data["benchmarks"]:
        assert b["value"] == pytest.approx(by_day[b["date"]][b["metric"]], abs=1e-6)
        band = bands.get((b["date"], b["plan"], b["metric"]))
        if band is None:
            assert b["p50"] is None
        else:
            assert (b["tenants"], b["p25"], b["p50"], b["p75"]) == pytest.approx(
                (band["tenants"], band["p25"], band["p50"], band["p75"]), abs=1e-6)

    # The headline tiles show the same numbers.
    last = kpis[-1]
    for text in (f"DAU · {last['date']}", f">{last['dau']:,}<", f">{last['mau']:,}<",
                 f">{sum(r['events'] for r in kpis):,}<"):
        assert text in tenant_html
    if any(b["p50"] is None for b in data["benchmarks"] if b["date"] == data["end"]):
        assert "not enough peers" in tenant_html


def test_tenant_report_shows_the_tenants_product_analytics(
    built_warehouse: Settings, busiest_tenant: str, tenant_html: str
) -> None:
    data = json_block(tenant_html)
    landing, days = built_warehouse.landing_url, _built_days()

    def rows(view: str) -> list[dict]:
        frame = oracle.ALL_VIEWS[view][0](landing, days)
        return frame[frame["tenant_id"] == busiest_tenant].to_dict("records")

    lifecycle = {_iso(r["date"]): (r["new_users"], r["returning_users"],
                                   r["resurrecting_users"], r["dormant_users"])
                 for r in rows("user_lifecycle_daily")}
    assert {d["date"]: (d["new_users"], d["returning_users"], d["resurrecting_users"],
                        d["dormant_users"]) for d in data["lifecycle"]} == lifecycle
    weekly = {(_iso(r["cohort_week"]), r["week_n"]): (r["cohort_size"], r["retained_users"])
              for r in rows("retention_weekly")}
    assert {(r["cohort_week"], r["week_n"]): (r["cohort_size"], r["retained_users"])
            for r in data["weekly_retention"]} == weekly
    features = {(_iso(r["date"]), r["feature"]): r for r in rows("feature_adoption_daily")}
    assert {(f["date"], f["feature"]) for f in data["features"]} == set(features)
    for f in data["features"]:
        expected = features[(f["date"], f["feature"])]
        assert (f["users"], f["new_adopters"], f["adopters_30d"]) == (
            expected["users"], expected["new_adopters"], expected["adopters_30d"])
        assert f["adoption_rate_30d"] == pytest.approx(expected["adoption_rate_30d"], abs=1e-6)
    alerts = sorted(sorted(rows("kpi_alerts"), key=lambda r: r["rule_id"]),
                    key=lambda r: _iso(r["date"]), reverse=True)  # newest day first
    assert [(a["date"], a["rule_id"]) for a in data["alerts"]] == [
        (_iso(r["date"]), r["rule_id"]) for r in alerts][:len(data["alerts"])]
    assert len(data["alerts"]) == min(len(alerts), ALERTS_SHOWN) > 0
    # Time to step: the cohorts' medians, weighted by their users.
    funnel = pd.DataFrame(rows("funnel_daily"))
    for funnel_id, steps in data["funnels"].items():
        for step in steps:
            cohorts = funnel[(funnel["funnel_id"] == funnel_id)
                             & (funnel["step_index"] == step["step_index"])
                             & (funnel["users"] > 0)]
            expected = ((cohorts["median_seconds_to_step"] * cohorts["users"]).sum()
                        / cohorts["users"].sum()) if len(cohorts) else None
            assert step["seconds_to_step"] == pytest.approx(expected, rel=1e-6), step
    for title in ("User lifecycle", "KPI alerts", "Weekly retention", "Feature adoption",
                  "time to step"):
        assert title in tenant_html


def test_tenant_report_names_no_other_tenant(
    busiest_tenant: str, all_tenants: list[str], tenant_html: str
) -> None:
    assert len(all_tenants) > 1
    assert busiest_tenant in tenant_html
    leaked = [t for t in all_tenants if t != busiest_tenant and t in tenant_html]
    assert leaked == []
    assert json_block(tenant_html)["top_tenants"] == []


def test_tenant_report_runs_under_the_tenant_login(
    built_warehouse: Settings, busiest_tenant: str
) -> None:
    # The session the report uses cannot read below bi: the same isolation as query --tenant.
    with tenant_session(built_warehouse.warehouse_url, busiest_tenant) as client:
        with pytest.raises(Exception, match="(?i)not enough privileges|ACCESS_DENIED"):
            client.query("SELECT count() FROM analytics.fct_tenant_kpis_daily")
        seen = {r[0] for r in client.query(
            "SELECT DISTINCT tenant_id FROM bi.kpi_tenant_daily").result_rows}
    assert seen == {busiest_tenant}


def test_analyst_report_aggregates_all_tenants(
    built_warehouse: Settings, analyst_html: str
) -> None:
    data = json_block(analyst_html)
    kpis = oracle.kpi_tenant_daily(built_warehouse.landing_url, _built_days())
    daily = (kpis.groupby("date", as_index=False)
             .agg(dau=("dau", "sum"), mau=("mau", "sum"), billed=("billed_usd", "sum"))
             .sort_values("date").to_dict("records"))
    tenants = kpis["tenant_id"].nunique()
    top = (kpis.groupby("tenant_id", as_index=False)["dau"].mean()
           .sort_values(["dau", "tenant_id"], ascending=[False, True]).head(10)
           .to_dict("records"))
    assert data["tenant"] is None and data["benchmarks"] == []
    assert data["totals"]["tenants"] == tenants
    assert [(d["date"], d["dau"], d["mau"]) for d in data["daily"]] == [
        (_iso(r["date"]), r["dau"], r["mau"]) for r in daily]
    assert data["totals"]["billed_usd"] == pytest.approx(sum(r["billed"] for r in daily),
                                                         abs=0.01)
    assert [t["tenant_id"] for t in data["top_tenants"]] == [r["tenant_id"] for r in top]
    for t in top:
        assert t["tenant_id"] in analyst_html
    assert "All tenants" in analyst_html and "Top tenants" in analyst_html


def test_report_command_writes_a_self_contained_page(
    built_warehouse: Settings, busiest_tenant: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", built_warehouse.warehouse_url)
    out = tmp_path / "out" / "report.html"
    assert main(["report", "--tenant", busiest_tenant, "--plan", "pro", "--out", str(out)]) == 0
    html = out.read_text()
    assert f"tenant {busiest_tenant}" in html and "tenants on the pro plan" in html
    # Offline: nothing fetched, no scripts beyond the inert JSON data block.
    assert not re.search(r"(?i)(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert re.findall(r"<script[^>]*>", html) == [
        '<script type="application/json" id="report-data">']
    assert main(["report", "--tenant", "tnt_nobody", "--out", str(out)]) == 1


def test_report_screenshots(
    tenant_html: str, analyst_html: str, tmp_path, busiest_tenant: str
) -> None:
    for name, html in (("report-tenant", tenant_html), ("report-analyst", analyst_html)):
        page = tmp_path / f"{name}.html"
        page.write_text(html)
        png = screenshot(page.as_uri(), SCREENSHOTS / f"{name}.png", width=1400, height=4200)
        assert png_size(png) == (1400, 4200)
        # A blank or unstyled page compresses to almost nothing; charts and text do not.
        assert png.stat().st_size > 60_000, f"{png} looks empty"


def _hostile(field: str) -> str:
    """A producer's string that tries to leave its table cell, script the page, add an event
    attribute and end the JSON block early; `field` tells the copies apart."""
    return (f'<td onmouseover="alert(1)"><script>alert("{field}")</script></td><td>'
            f'"onmouseover=alert(2) R&D &amp; <!--<script> {field}')


def _hostile_data(tenant: str | None) -> ReportData:
    """Every string of the page's data a producer or tenant controls, made hostile; the
    numbers are plain."""
    days = [f"2026-10-0{d}{_hostile('date')}" for d in (1, 2)]
    service, feature = _hostile("service"), _hostile("feature")
    data = ReportData(tenant=tenant, start=days[0], end=days[-1], daily=[
        {"date": d, "dau": 5, "wau": 7, "mau": 9, "events": 50, "new_users": 1,
         "api_requests": 100, "api_errors": 2, "api_error_rate": 0.02, "billed_usd": 3.5}
        for d in days])
    data.totals = {"last_date": days[-1], "dau": 5, "wau": 7, "mau": 9, "events": 100,
                   "new_users": 2, "api_requests": 200, "api_error_rate": 0.02,
                   "billed_usd": 7.0, "services": 1}
    data.funnels = {_hostile("funnel"): [
        {"step_index": i, "step_event": _hostile(f"step {i}"), "users": users,
         "conversion_rate": users / 10, "seconds_to_step": 30.0 * i}
        for i, users in ((1, 10), (2, 4))]}
    data.retention = [{"cohort_date": days[0], "day_n": 1, "cohort_size": 10,
                       "retained_users": 4, "retention_rate": 0.4}]
    data.weekly_retention = [{"cohort_week": days[0], "week_n": 1, "cohort_size": 10,
                              "retained_users": 3, "retention_rate": 0.3}]
    data.lifecycle = [{"date": d, "new_users": 1, "returning_users": 3,
                       "resurrecting_users": 1, "dormant_users": 2} for d in days]
    data.features = [{"date": d, "feature": feature, "users": 3, "new_adopters": 1,
                      "adopters_30d": 4, "adoption_rate_30d": 0.4} for d in days]
    data.alerts = [{"date": days[-1], "tenant_id": _hostile("alert tenant"),
                    "rule_id": _hostile("rule"), "metric": _hostile("metric"),
                    "value": 2.0, "baseline": 1.0, "change": 1.0}]
    data.services = [{"service": service, "requests": 200, "errors_5xx": 4, "errors_4xx": 6,
                      "error_rate_5xx": 0.02, "error_rate_4xx": 0.03, "latency_p50_ms": 10.0,
                      "latency_p95_ms": 50.0, "latency_p99_ms": 90.0}]
    data.service_daily = [{"date": d, "service": service, "requests": 100,
                           "latency_p95_ms": 50.0, "error_rate_5xx": 0.02} for d in days]
    if tenant is not None:
        # One metric without enough peers: its row has a text cell where the chart goes.
        data.benchmarks = [
            {"date": d, "plan": _hostile("plan"), "metric": m, "value": 1.0,
             **({"tenants": None, "p25": None, "p50": None, "p75": None} if m == "dau"
                else {"tenants": 6, "p25": 0.5, "p50": 1.0, "p75": 1.5})}
            for d in days for m in BENCHMARK_METRICS]
    else:
        data.totals["tenants"] = 2
        data.top_tenants = [{"tenant_id": _hostile("top tenant"), "avg_dau": 5.0,
                             "last_mau": 9, "events": 100, "api_requests": 200,
                             "api_error_rate": 0.02, "billed_usd": 7.0}]
    return data


class _Page(HTMLParser):
    """The page as a browser's tokenizer sees it: tags with their attributes, and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("tenant", [_hostile("tenant"), None], ids=["tenant", "analyst"])
def test_producer_strings_are_shown_as_text_never_markup(tenant: str | None) -> None:
    data = _hostile_data(tenant)
    html = render(data, generated=dt.datetime(2026, 10, 3, tzinfo=dt.UTC))
    page = _Page(html)

    # No element or attribute came from the data: one script (the inert JSON), no handlers.
    assert [attrs for tag, attrs in page.tags if tag == "script"] == [
        {"type": "application/json", "id": "report-data"}]
    assert [(tag, name) for tag, attrs in page.tags for name in attrs
            if name.startswith("on")] == []
    # Each string is on the page whole, as text (or an attribute's value): escaped.
    shown = page.text + [v for _, attrs in page.tags for v in attrs.values() if v]
    fields = ["date", "funnel", "step 1", "step 2", "service", "feature", "rule", "metric"]
    fields += ["tenant", "plan"] if tenant else ["alert tenant", "top tenant"]
    missing = [f for f in fields if not any(_hostile(f) in s for s in shown)]
    assert missing == []
    # The JSON block holds no "<" at all (no "</script>", no "<!--"), and reads back whole.
    start = html.index('id="report-data">') + len('id="report-data">')
    assert "<" not in html[start:html.index("</script>", start)]
    assert json_block(html) == json.loads(json.dumps(data.as_json()))
