"""Unit tests of the BI oracle (tests/support/bi_oracle.py) on tiny hand-written exports.

Every expected value is computed by hand from docs/contract.md §5; the exports follow §3."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import bi_oracle as oracle

D1 = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    """day(1) = 2026-03-01."""
    return D1 + dt.timedelta(days=n - 1)


def at(n: int, hms: str = "12:00:00.000") -> str:
    return f"{day(n).isoformat()}T{hms}Z"


_ids = itertools.count()

EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("tenant_id", pa.string()), ("user_id", pa.string()),
    ("session_id", pa.string()), ("event", pa.string()),
    ("ts", pa.timestamp("ms", tz="UTC")), ("properties", pa.string()),
    ("app_version", pa.string()), ("os", pa.string()), ("locale", pa.string()),
    ("event_version", pa.int32()),
])
REQUEST_SCHEMA = pa.schema([
    ("request_id", pa.string()), ("tenant_id", pa.string()), ("service", pa.string()),
    ("endpoint", pa.string()), ("method", pa.string()), ("status_code", pa.int32()),
    ("latency_ms", pa.float64()), ("request_bytes", pa.int64()),
    ("response_bytes", pa.int64()), ("ts", pa.timestamp("ms", tz="UTC")),
])


class Landing:
    """Writes exports into `<root>/<source>/dt=YYYY-MM-DD/` with `_SUCCESS` (by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, source: str, d: dt.date, complete: bool) -> Path:
        folder = self.root / source / f"dt={d.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        if complete:
            (folder / "_SUCCESS").touch()
        return folder

    def events(self, d: dt.date, rows: list[tuple], name: str = "part-0.parquet",
               complete: bool = True) -> None:
        """rows: (tenant_id, user_id, event, ts[, event_id[, properties]])."""
        records = []
        for row in rows:
            tenant, user, event, ts = row[:4]
            event_id = row[4] if len(row) > 4 and row[4] else f"ev_{next(_ids)}"
            records.append({
                "event_id": event_id, "tenant_id": tenant, "user_id": user,
                "session_id": "s1", "event": event,
                "ts": pd.Timestamp(ts).to_pydatetime(),
                "properties": row[5] if len(row) > 5 else "{}",
                "app_version": None, "os": None, "locale": None, "event_version": 1,
            })
        table = pa.Table.from_pylist(records, schema=EVENT_SCHEMA)
        pq.write_table(table, self._folder("product_events", d, complete) / name)

    def requests(self, d: dt.date, rows: list[tuple], name: str = "part-0.parquet",
                 complete: bool = True) -> None:
        """rows: (tenant_id, service, status_code, latency_ms[, request_id[, bytes]])."""
        records = []
        for i, row in enumerate(rows):
            tenant, service, status, latency = row[:4]
            request_id = row[4] if len(row) > 4 and row[4] else f"rq_{next(_ids)}"
            nbytes = row[5] if len(row) > 5 else 100
            records.append({
                "request_id": request_id, "tenant_id": tenant, "service": service,
                "endpoint": "/x", "method": "GET", "status_code": status,
                "latency_ms": float(latency), "request_bytes": nbytes,
                "response_bytes": 2 * nbytes,
                "ts": pd.Timestamp(f"{d.isoformat()}T10:00:00Z").to_pydatetime()
                + dt.timedelta(seconds=i),
            })
        table = pa.Table.from_pylist(records, schema=REQUEST_SCHEMA)
        pq.write_table(table, self._folder("api_requests", d, complete) / name)

    def billing(self, d: dt.date, rows: list[tuple], name: str = "line_items.csv",
                complete: bool = True) -> None:
        """rows: (tenant_id, amount_usd[, line_item_id])."""
        lines = ["line_item_id,tenant_id,usage_date,service,metric,quantity,unit_price_usd,"
                 "amount_usd,currency"]
        for row in rows:
            tenant, amount = row[:2]
            line_id = row[2] if len(row) > 2 else f"li_{next(_ids)}"
            lines.append(f"{line_id},{tenant},{d.isoformat()},search,api_calls,1.000000,"
                         f"{amount},{amount},USD")
        (self._folder("billing_line_items", d, complete) / name).write_text(
            "\n".join(lines) + "\n")

    def tenants(self, d: dt.date, plans: dict[str, str], complete: bool = True) -> None:
        lines = ["tenant_id,tenant_name,plan,region,created_at,is_active"]
        for tenant, plan in plans.items():
            lines.append(f"{tenant},{tenant} Inc,{plan},eu-west-1,2024-01-01T00:00:00.000Z,true")
        (self._folder("tenants", d, complete) / "tenants.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture
def land(tmp_path: Path) -> Landing:
    return Landing(tmp_path / "landing")


def row_of(frame: pd.DataFrame, **keys) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for key, value in keys.items():
        mask &= frame[key] == value
    matched = frame[mask]
    assert len(matched) == 1, (keys, matched)
    return matched.iloc[0]


def has_row(frame: pd.DataFrame, **keys) -> bool:
    mask = pd.Series(True, index=frame.index)
    for key, value in keys.items():
        mask &= frame[key] == value
    return bool(mask.any())


# --------------------------------------------------------------------------- kpi

def test_columns_and_sort_order(land: Landing) -> None:
    land.events(day(1), [("t2", "u1", "login", at(1)), ("t1", "u1", "login", at(1))])
    days = [day(1)]
    for name, (function, _keys) in oracle.ALL_VIEWS.items():
        frame = function(land.root, days)
        expected = {"kpi_tenant_daily": oracle.KPI_COLUMNS,
                    "api_usage_daily": oracle.API_COLUMNS,
                    "funnel_daily": oracle.FUNNEL_COLUMNS,
                    "retention_cohorts": oracle.RETENTION_COLUMNS,
                    "benchmarks_daily": oracle.BENCHMARK_COLUMNS,
                    "user_lifecycle_daily": oracle.LIFECYCLE_COLUMNS,
                    "feature_adoption_daily": oracle.FEATURE_COLUMNS,
                    "retention_weekly": oracle.WEEKLY_COLUMNS,
                    "kpi_alerts": oracle.ALERT_COLUMNS}[name]
        assert list(frame.columns) == expected, name
    kpi = oracle.kpi_tenant_daily(land.root, days)
    assert kpi["tenant_id"].tolist() == ["t1", "t2"]


def test_wau_and_mau_windows(land: Landing) -> None:
    # u1 is active only on day 1; u2 on days 7, 8, 30, 31 (so those days have rows).
    land.events(day(1), [("t1", "u1", "login", at(1))])
    for n in (7, 8, 30, 31):
        land.events(day(n), [("t1", "u2", "login", at(n))])
    days = [day(n) for n in range(1, 32)]
    kpi = oracle.kpi_tenant_daily(land.root, days)
    assert kpi["date"].tolist() == [day(1), day(7), day(8), day(30), day(31)]
    # day 7: [day1, day7] holds u1 and u2; day 8: [day2, day8] only u2.
    assert (row_of(kpi, date=day(7))[["dau", "wau", "mau"]].tolist()) == [1, 2, 2]
    assert (row_of(kpi, date=day(8))[["dau", "wau", "mau"]].tolist()) == [1, 1, 2]
    # day 30: [day1, day30] holds u1; day 31: [day2, day31] does not.
    assert (row_of(kpi, date=day(30))[["dau", "wau", "mau"]].tolist()) == [1, 1, 2]
    assert (row_of(kpi, date=day(31))[["dau", "wau", "mau"]].tolist()) == [1, 1, 1]
    # Users are per tenant: the same user_id under another tenant is another user.
    land.events(day(31), [("t2", "u2", "login", at(31))], name="t2.parquet")
    kpi = oracle.kpi_tenant_daily(land.root, days)
    assert row_of(kpi, tenant_id="t1", date=day(31))["mau"] == 1
    assert row_of(kpi, tenant_id="t2", date=day(31))["new_users"] == 1


def test_duplicated_deliveries_count_once(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "login", at(1), "ev_a"),
                         ("t1", "u1", "login", at(1), "ev_a"),
                         ("t1", "u2", "login", at(1), "ev_b")])
    land.events(day(1), [("t1", "u1", "login", at(1), "ev_a")], name="redelivered.parquet")
    land.requests(day(1), [("t1", "search", 200, 10.0, "rq_a"),
                           ("t1", "search", 503, 30.0, "rq_b")])
    land.requests(day(1), [("t1", "search", 503, 30.0, "rq_b")], name="again.parquet")
    land.billing(day(1), [("t1", "1.500000", "li_a"), ("t1", "2.250000", "li_b")])
    land.billing(day(1), [("t1", "1.500000", "li_a")], name="again.csv")
    kpi = oracle.kpi_tenant_daily(land.root, [day(1)])
    r = row_of(kpi, tenant_id="t1", date=day(1))
    assert (r["events"], r["dau"], r["api_requests"], r["api_errors"]) == (2, 2, 2, 1)
    assert r["api_error_rate"] == pytest.approx(0.5)
    assert r["api_latency_p95_ms"] == pytest.approx(10 + 0.95 * 20)
    assert r["billed_usd"] == pytest.approx(3.75)
    api = oracle.api_usage_daily(land.root, [day(1)])
    assert row_of(api, service="search")["requests"] == 2


def test_new_users_after_an_earlier_day_loads(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "login", at(1))])
    land.events(day(2), [("t1", "u1", "login", at(2)), ("t1", "u2", "login", at(2))])
    # Only day 2 loaded: both users are new on day 2.
    kpi = oracle.kpi_tenant_daily(land.root, [day(2)])
    assert kpi["date"].tolist() == [day(2)]
    assert row_of(kpi, date=day(2))["new_users"] == 2
    # Day 1 loads later: u1's first-ever event moves to day 1.
    kpi = oracle.kpi_tenant_daily(land.root, [day(2), day(1)])
    assert row_of(kpi, date=day(1))["new_users"] == 1
    assert row_of(kpi, date=day(2))["new_users"] == 1
    assert row_of(kpi, date=day(2))["wau"] == 2


def test_incomplete_partition_is_not_loaded(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "login", at(1))])
    land.events(day(2), [("t1", "u1", "login", at(2))], complete=False)
    kpi = oracle.kpi_tenant_daily(land.root, [day(1), day(2)])
    assert kpi["date"].tolist() == [day(1)]


def test_error_rate_is_zero_without_requests(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "login", at(1))])
    land.billing(day(2), [("t1", "4.000000")])  # a billing-only day still has a row
    land.requests(day(3), [("t1", "auth", s, lat) for s, lat in
                           [(200, 10), (404, 20), (500, 30), (502, 40), (499, 50)]])
    kpi = oracle.kpi_tenant_daily(land.root, [day(1), day(2), day(3)])
    r1, r2, r3 = (row_of(kpi, date=day(n)) for n in (1, 2, 3))
    assert (r1["api_requests"], r1["api_errors"], r1["api_error_rate"]) == (0, 0, 0.0)
    assert math.isnan(r1["api_latency_p95_ms"])
    assert r1["billed_usd"] == 0.0
    assert (r2["dau"], r2["wau"], r2["events"], r2["billed_usd"]) == (0, 1, 0, 4.0)
    assert r2["api_error_rate"] == 0.0
    assert (r3["api_requests"], r3["api_errors"]) == (5, 2)
    assert r3["api_error_rate"] == pytest.approx(0.4)
    assert r3["api_latency_p95_ms"] == pytest.approx(48.0)  # 40 + 0.8 * 10


def test_api_usage_status_classes_and_percentiles(land: Landing) -> None:
    land.requests(day(1), [("t1", "search", s, lat, None, 10) for s, lat in
                           [(200, 50), (399, 10), (400, 40), (499, 20), (500, 30)]]
                  + [("t1", "export", 200, 7.0, None, 1)])
    api = oracle.api_usage_daily(land.root, [day(1)])
    assert api["service"].tolist() == ["export", "search"]
    s = row_of(api, service="search")
    assert (s["requests"], s["errors_5xx"], s["errors_4xx"]) == (5, 1, 2)
    assert (s["request_bytes"], s["response_bytes"]) == (50, 100)
    # sorted latencies 10, 20, 30, 40, 50: p50 = 30, p95 at rank 3.8, p99 at rank 3.96
    assert s["latency_p50_ms"] == pytest.approx(30.0)
    assert s["latency_p95_ms"] == pytest.approx(48.0)
    assert s["latency_p99_ms"] == pytest.approx(49.6)
    e = row_of(api, service="export")
    assert (e["latency_p50_ms"], e["latency_p95_ms"], e["latency_p99_ms"]) == (7.0, 7.0, 7.0)


def test_vectorized_quantiles_equal_numpy_percentile() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"g": rng.integers(0, 50, 5000),
                          "v": rng.lognormal(5, 1, 5000).round(3)})
    frame.loc[frame.sample(300, random_state=1).index, "v"] = 100.0  # ties
    got = oracle._quantiles(frame, ["g"], "v", {"a": 50, "b": 95, "c": 99, "d": 25})
    for row in got.itertuples():
        values = frame.loc[frame["g"] == row.g, "v"].to_numpy()
        assert [row.a, row.b, row.c, row.d] == pytest.approx(
            list(np.percentile(values, [50, 95, 99, 25])), rel=1e-12, abs=1e-12)


def test_rows_breaking_the_contract_are_dropped(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "login", at(1)),
                         ("t1", "u2", "login", at(2))])  # ts outside the partition's day
    kpi = oracle.kpi_tenant_daily(land.root, [day(1), day(2)])
    assert kpi[["date", "dau"]].values.tolist() == [[day(1), 1]]


# --------------------------------------------------------------------------- funnels

ACTIVATION = ["signup", "onboarding_completed", "project_created", "invite_sent"]


def levels(frame: pd.DataFrame, funnel_id: str, cohort: dt.date, tenant="t1") -> list[int]:
    rows = frame[(frame["funnel_id"] == funnel_id) & (frame["cohort_date"] == cohort)
                 & (frame["tenant_id"] == tenant)].sort_values("step_index")
    return rows["users"].tolist()


def test_funnel_same_timestamp_steps_and_row_order(land: Landing) -> None:
    t = at(1, "10:00:00.000")
    # u1: three steps at the same instant, written in reverse order in the file.
    land.events(day(1), [("t1", "u1", "project_created", t),
                         ("t1", "u1", "onboarding_completed", t),
                         ("t1", "u1", "signup", t)])
    funnel = oracle.funnel_daily(land.root, [day(1)])
    assert levels(funnel, "activation", day(1)) == [1, 1, 1, 0]
    rows = funnel[funnel["funnel_id"] == "activation"]
    assert rows["step_event"].tolist() == ACTIVATION
    assert rows["conversion_rate"].tolist() == [1.0, 1.0, 1.0, 0.0]
    # No upgrade_clicked anywhere: no upgrade cohort rows at all.
    assert not (funnel["funnel_id"] == "upgrade").any()


def test_funnel_step_across_midnight_counts_once_the_next_day_loads(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "signup", at(1, "23:59:00.000"))])
    land.events(day(2), [("t1", "u1", "onboarding_completed", at(2, "00:01:00.000"))])
    assert levels(oracle.funnel_daily(land.root, [day(1)]), "activation", day(1)) == [1, 0, 0, 0]
    funnel = oracle.funnel_daily(land.root, [day(1), day(2)])
    assert levels(funnel, "activation", day(1)) == [1, 1, 0, 0]
    # u1 performs no step 1 on day 2: no day-2 cohort.
    assert not (funnel["cohort_date"] == day(2)).any()


def test_funnel_window_boundary_is_inclusive(land: Landing) -> None:
    start = "08:00:00.000"
    land.events(day(1), [("t1", "u_exact", "upgrade_clicked", at(1, start)),
                         ("t1", "u_late", "upgrade_clicked", at(1, start))])
    land.events(day(2), [("t1", "u_exact", "subscription_upgraded", at(2, start)),
                         ("t1", "u_late", "subscription_upgraded", at(2, "08:00:00.001"))])
    funnel = oracle.funnel_daily(land.root, [day(1), day(2)])
    assert levels(funnel, "upgrade", day(1)) == [2, 1]
    assert row_of(funnel, funnel_id="upgrade", step_index=2)["conversion_rate"] == 0.5


def test_funnel_window_is_measured_from_step_one(land: Landing) -> None:
    # onboarding at +71h is inside 72h, project_created at +73h is not (window from signup).
    land.events(day(1), [("t1", "u1", "signup", at(1, "00:00:00.000"))])
    land.events(day(3), [("t1", "u1", "onboarding_completed", at(3, "23:00:00.000"))])
    land.events(day(4), [("t1", "u1", "project_created", at(4, "01:00:00.000"))])
    funnel = oracle.funnel_daily(land.root, [day(1), day(2), day(3), day(4)])
    assert levels(funnel, "activation", day(1)) == [1, 1, 0, 0]


def in_order(user: str, start: str, *events: str, minutes: int = 1) -> list[tuple]:
    """`user`'s (tenant t1) `events` on day 1, one every `minutes` from `start` (HH:MM)."""
    first = dt.datetime.combine(day(1), dt.time.fromisoformat(start))
    return [
        ("t1", user, event, f"{first + dt.timedelta(minutes=i * minutes):%Y-%m-%dT%H:%M}:00.000Z")
        for i, event in enumerate(events)
    ]


def test_funnel_step_order_violations(land: Landing) -> None:
    land.events(day(1), [
        # u1: onboarding before signup does not count.
        *in_order("u1", "09:00", "onboarding_completed", "signup", minutes=60),
        # u2: project_created before onboarding; then onboarding; project not repeated.
        *in_order("u2", "10:00", "signup", "project_created", "onboarding_completed",
                  "invite_sent", minutes=5),
        # u3: all four in order with other events in between.
        *in_order("u3", "10:00", "signup", "login", "onboarding_completed", "feature_used",
                  "project_created", "invite_sent"),
    ])
    funnel = oracle.funnel_daily(land.root, [day(1)])
    assert levels(funnel, "activation", day(1)) == [3, 2, 1, 1]
    rates = funnel[funnel["funnel_id"] == "activation"]["conversion_rate"].tolist()
    assert rates == pytest.approx([1.0, 2 / 3, 1 / 3, 1 / 3])


def test_funnel_only_the_second_step_one_converts(land: Landing) -> None:
    # Clicks at 00:00 and 12:00 on day 1; upgrade on day 2 at 11:00 = 35h after the first
    # click (outside 24h) and 23h after the second (inside).
    land.events(day(1), [("t1", "u1", "upgrade_clicked", at(1, "00:00:00.000")),
                         ("t1", "u1", "upgrade_clicked", at(1, "12:00:00.000"))])
    land.events(day(2), [("t1", "u1", "subscription_upgraded", at(2, "11:00:00.000"))])
    funnel = oracle.funnel_daily(land.root, [day(1), day(2)])
    assert levels(funnel, "upgrade", day(1)) == [1, 1]


def test_funnel_step_one_on_another_day_is_another_cohort(land: Landing) -> None:
    # Click on day 1 (no conversion within 24h), click again on day 3, upgrade 1h later:
    # the day-1 cohort stays at level 1, the day-3 cohort converts.
    land.events(day(1), [("t1", "u1", "upgrade_clicked", at(1, "10:00:00.000"))])
    land.events(day(3), [("t1", "u1", "upgrade_clicked", at(3, "10:00:00.000")),
                         ("t1", "u1", "subscription_upgraded", at(3, "11:00:00.000"))])
    funnel = oracle.funnel_daily(land.root, [day(1), day(2), day(3)])
    assert levels(funnel, "upgrade", day(1)) == [1, 0]
    assert levels(funnel, "upgrade", day(3)) == [1, 1]


def test_funnel_custom_definitions(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "a", at(1, "10:00:00.000")),
                         ("t1", "u1", "b", at(1, "11:00:00.000")),
                         ("t1", "u2", "a", at(1, "10:00:00.000")),
                         ("t1", "u2", "b", at(1, "11:00:00.001"))])
    definitions = pd.DataFrame({"funnel_id": ["f", "f"], "step_index": [1, 2],
                                "event": ["a", "b"], "window_hours": [1, 1]})
    funnel = oracle.funnel_daily(land.root, [day(1)], definitions)
    assert funnel[["step_index", "users"]].values.tolist() == [[1, 2], [2, 1]]


# --------------------------------------------------------------------------- retention

def test_retention_rows_appear_only_when_the_day_is_loaded(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "login", at(1)), ("t1", "u2", "login", at(1))])
    land.events(day(2), [("t1", "u1", "login", at(2)), ("t1", "u3", "login", at(2))])
    land.events(day(8), [("t1", "u2", "login", at(8))])

    r = oracle.retention_cohorts(land.root, [day(1)])
    assert r[["cohort_date", "day_n", "cohort_size", "retained_users"]].values.tolist() == [
        [day(1), 0, 2, 2]]

    r = oracle.retention_cohorts(land.root, [day(1), day(2)])
    assert r[["cohort_date", "day_n", "cohort_size", "retained_users"]].values.tolist() == [
        [day(1), 0, 2, 2], [day(1), 1, 2, 1], [day(2), 0, 1, 1]]
    assert row_of(r, cohort_date=day(1), day_n=1)["retention_rate"] == 0.5

    # Days 3..7 not loaded (a gap): day 8 loaded gives the day-7 row of the day-1 cohort,
    # and no row for the days inside the gap.
    r = oracle.retention_cohorts(land.root, [day(1), day(2), day(8)])
    assert r[["cohort_date", "day_n", "retained_users"]].values.tolist() == [
        [day(1), 0, 2], [day(1), 1, 1], [day(1), 7, 1], [day(2), 0, 1]]
    # Loaded day 8 is the first-ever day of nobody, so no cohort on day 8.
    assert not (r["cohort_date"] == day(8)).any()


def test_retention_day_30_and_first_ever_moves_with_earlier_days(land: Landing) -> None:
    land.events(day(1), [("t1", "u1", "login", at(1))])
    land.events(day(31), [("t1", "u1", "login", at(31))])
    r = oracle.retention_cohorts(land.root, [day(1), day(31)])
    assert row_of(r, cohort_date=day(1), day_n=30)["retained_users"] == 1
    # Only day 31 loaded: u1's cohort is day 31.
    r = oracle.retention_cohorts(land.root, [day(31)])
    assert r[["cohort_date", "day_n", "cohort_size"]].values.tolist() == [[day(31), 0, 1]]


# --------------------------------------------------------------------------- benchmarks

def test_benchmarks_suppress_small_groups_and_use_the_plan_as_of_the_date(land: Landing) -> None:
    pro = [f"p{i}" for i in range(1, 7)]  # six pro tenants
    free = [f"f{i}" for i in range(1, 5)]  # four free tenants: never shown
    land.tenants(day(1), {**{t: "pro" for t in pro}, **{t: "free" for t in free}})
    for n in (1, 2):
        rows = []
        for i, tenant in enumerate(pro + free, start=1):
            rows += [(tenant, f"u{k}", "login", at(n)) for k in range(i)]  # dau = i
        land.events(day(n), rows)
        # p1..p5 have requests; p6 has none (error rate 0 by definition, no latency); p_k
        # has k requests, the last one a 500 → error rate 1/k, latencies 10..10k.
        reqs = []
        for k, tenant in enumerate(pro[:5], start=1):
            reqs += [(tenant, "auth", 500 if j == k else 200, 10.0 * j) for j in range(1, k + 1)]
        reqs += [(t, "auth", 200, 1.0) for t in free]
        land.requests(day(n), reqs)
    # Day 2's snapshot moves p6 to free: pro has 5 tenants for dau on day 2, free has 5.
    land.tenants(day(2), {**{t: "pro" for t in pro[:5]}, "p6": "free",
                          **{t: "free" for t in free}})

    b = oracle.benchmarks_daily(land.root, [day(1), day(2)])
    assert "tenant_id" not in b.columns
    dau1 = row_of(b, date=day(1), plan="pro", metric="dau")
    # dau 1..6 → p25 at rank 1.25 = 2.25, p50 = 3.5, p75 = 4.75
    assert dau1[["tenants", "p25", "p50", "p75"]].tolist() == [6, 2.25, 3.5, 4.75]
    err1 = row_of(b, date=day(1), plan="pro", metric="api_error_rate")
    # error rates 0 (p6: no requests), 1, 1/2, 1/3, 1/4, 1/5 → sorted 0 .2 .25 .333 .5 1:
    # p25 at rank 1.25 = .2 + .25*.05, p50 at 2.5 = (.25 + 1/3)/2, p75 at 3.75 = 1/3 + .75/6
    assert err1["tenants"] == 6
    assert err1[["p25", "p50", "p75"]].tolist() == pytest.approx(
        [0.2125, (0.25 + 1 / 3) / 2, 1 / 3 + 0.75 / 6]
    )
    lat1 = row_of(b, date=day(1), plan="pro", metric="api_latency_p95_ms")
    # p95 of 10..10k is 10 + 0.95*(10k-10) = 9.5k + 0.5: 10, 19.5, 29, 38.5, 48
    assert lat1[["p25", "p50", "p75"]].tolist() == pytest.approx([19.5, 29.0, 38.5])
    assert not has_row(b, date=day(1), plan="free")  # 4 tenants

    # Day 2: p6 is free → pro dau has 5 tenants (1..5), free dau has 5 (6..10); free error
    # rate has 5 (p6's is 0), free latency only the 4 with requests → not shown.
    dau2 = row_of(b, date=day(2), plan="pro", metric="dau")
    assert dau2[["tenants", "p25", "p50", "p75"]].tolist() == [5, 2.0, 3.0, 4.0]
    free2 = row_of(b, date=day(2), plan="free", metric="dau")
    assert free2[["tenants", "p25", "p50", "p75"]].tolist() == [5, 7.0, 8.0, 9.0]
    assert row_of(b, date=day(2), plan="free", metric="api_error_rate")["tenants"] == 5
    assert not has_row(b, date=day(2), plan="free", metric="api_latency_p95_ms")

    # Without day 2's snapshot loaded, day 2 uses day 1's plans.
    (land.root / "tenants" / f"dt={day(2).isoformat()}" / "_SUCCESS").unlink()
    b = oracle.benchmarks_daily(land.root, [day(1), day(2)])
    assert row_of(b, date=day(2), plan="pro", metric="dau")["tenants"] == 6
    assert not has_row(b, date=day(2), plan="free")


# --------------------------------------------------------------------------- product analytics

def test_lifecycle_new_returning_resurrecting_dormant(land: Landing) -> None:
    land.events(day(1), [("t1", u, "login", at(1)) for u in ("u1", "u2", "u4")])
    land.events(day(2), [("t1", u, "login", at(2)) for u in ("u1", "u3")])
    land.events(day(3), [("t1", "u4", "login", at(3))])
    frame = oracle.user_lifecycle_daily(land.root, [day(1), day(2), day(3)])
    got = frame[["new_users", "returning_users", "resurrecting_users", "dormant_users",
                 "stickiness"]].values.tolist()
    assert got == [[3, 0, 0, 0, 1.0],   # the first loaded day: everyone is new
                   [1, 1, 0, 2, 0.5],   # u3 new, u1 back from yesterday; u2, u4 lapsed
                   [0, 0, 1, 2, 0.25]]  # u4 back after a gap; u1, u3 lapsed


def test_feature_adoption_counts_string_features_of_feature_used(land: Landing) -> None:
    land.events(day(1), [
        ("t1", "u1", "feature_used", at(1), None, '{"feature":"export"}'),
        ("t1", "u2", "feature_used", at(1), None, '{"feature":5}'),
        ("t1", "u2", "feature_used", at(1), None, '{"feature":"search"}'),
        ("t1", "u2", "feature_used", at(1), None, "{broken"),
        ("t1", "u2", "login", at(1), None, '{"feature":"import"}'),
    ])
    land.events(day(2), [
        ("t1", "u1", "feature_used", at(2), None, '{"feature":"export"}'),
        ("t1", "u3", "feature_used", at(2), None, '{"feature":"export"}'),
    ])
    frame = oracle.feature_adoption_daily(land.root, [day(1), day(2)])
    got = {(r.date, r.feature): (r.users, r.new_adopters, r.adopters_30d, r.mau)
           for r in frame.itertuples()}
    assert got == {(day(1), "export"): (1, 1, 1, 2), (day(1), "search"): (1, 1, 1, 2),
                   (day(2), "export"): (2, 1, 2, 3)}
    assert row_of(frame, date=day(2), feature="export")["adoption_rate_30d"] == 2 / 3


def test_weekly_cohorts_start_on_monday_and_wait_for_their_week(land: Landing) -> None:
    assert day(8).weekday() == 6 and day(9).weekday() == 0  # Sunday 03-08, Monday 03-09
    land.events(day(8), [("t1", "u1", "login", at(8))])
    land.events(day(9), [("t1", "u1", "login", at(9)), ("t1", "u2", "login", at(9))])
    frame = oracle.retention_weekly(land.root, [day(8), day(9)])
    got = [(r.cohort_week, r.week_n, r.cohort_size, r.retained_users)
           for r in frame.itertuples()]
    assert got == [(day(2), 0, 1, 1), (day(2), 1, 1, 1), (day(9), 0, 1, 1)]


def test_alerts_compare_with_a_week_earlier_and_need_a_baseline(land: Landing) -> None:
    land.events(day(1), [("t1", f"u{i}", "login", at(1)) for i in range(25)])
    land.events(day(8), [("t1", f"u{i}", "login", at(8)) for i in range(10)]
                + [("t2", f"u{i}", "login", at(8)) for i in range(30)])
    land.events(day(15), [("t2", f"u{i}", "login", at(15)) for i in range(3)])
    land.requests(day(8), [("t1", "search", 200, 900)])  # no requests on day 1: NULL p95
    frame = oracle.kpi_alerts(land.root, [day(1), day(8), day(15)])
    got = [(r.tenant_id, r.date, r.rule_id, r.value, r.baseline) for r in frame.itertuples()]
    # t1: 25 -> 10 users; t2 on day 8 has no row a week earlier (baseline 0), but 30 -> 3 fires
    assert got == [("t1", day(8), "dau_drop", 10.0, 25.0), ("t2", day(15), "dau_drop", 3.0, 30.0)]
    assert frame["change"].tolist() == [10 / 25 - 1, 3 / 30 - 1]


def test_time_to_step_is_the_shortest_chain_per_user(land: Landing) -> None:
    land.events(day(1), [
        ("t1", "u1", "signup", at(1, "00:00:00.000")),
        ("t1", "u1", "onboarding_completed", at(1, "01:00:00.000")),
        ("t1", "u1", "project_created", at(1, "02:00:00.000")),
        ("t1", "u1", "signup", at(1, "10:00:00.000")),  # a later start, faster to step 2
        ("t1", "u1", "onboarding_completed", at(1, "10:30:00.000")),
        ("t1", "u2", "signup", at(1, "12:00:00.000")),
        ("t1", "u2", "onboarding_completed", at(1, "13:00:00.500")),
    ])
    frame = oracle.funnel_daily(land.root, [day(1)])
    activation = frame[frame["funnel_id"] == "activation"]
    medians = activation["median_seconds_to_step"].tolist()
    assert medians[:3] == [0.0, (1800 + 3600.5) / 2, 7200.0]
    assert math.isnan(medians[3])  # nobody reached invite_sent
