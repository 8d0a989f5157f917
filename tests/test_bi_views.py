"""End to end: generated exports → `run_range` (raw loads + dbt) → every `bi` view, compared
column by column with the independent pandas oracle (tests/support/bi_oracle.py,
docs/contract.md §5).

Counts must match exactly; rates, quantiles and money to 1e-6. The comparison is done on the
session's built warehouse (one range run, conftest.built_warehouse), and again in a fresh
warehouse loaded in chunks, with a day loaded out of order and the last day alone, after
each chunk ("first-ever" and "loaded so far" move as days load), once more after a corrected
re-export of an earlier day (on a copy of the built warehouse), and after
`dbt build --full-refresh` from the shell.

Slow (each `run_range` pays Dagster + raw loads + a full `dbt build`). A failure lists every
differing view/column/key with both values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from support import bi_oracle as oracle
from support.dbt_cli import DBT_PROJECT, dbt, ok
from support.samples import BUILT_DAYS, BUILT_START

from orchestration.runner import run_range
from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse

START, DAYS = BUILT_START, BUILT_DAYS
ALL_DAYS = [START + dt.timedelta(days=i) for i in range(DAYS)]
TOLERANCE = 1e-6


def day(n: int) -> dt.date:
    """day(1) = START."""
    return START + dt.timedelta(days=n - 1)


@pytest.fixture
def bi_settings(settings_for, built_landing: Path) -> Settings:
    return settings_for(built_landing)


# --------------------------------------------------------------------------- reading

def read_views(warehouse_url: str) -> dict[str, pd.DataFrame]:
    """All five views in one open of the embedded engine."""
    frames = {}
    with open_warehouse(warehouse_url) as client:
        for view in oracle.ALL_VIEWS:
            result = client.query(f"SELECT * FROM bi.{view}")
            columns = list(result.column_names) or [  # an empty result names no columns
                name for name, *_ in client.query(f"DESCRIBE TABLE bi.{view}").result_rows]
            frames[view] = pd.DataFrame([list(r) for r in result.result_rows], columns=columns)
    return frames


# --------------------------------------------------------------------------- comparing

def _normalize(value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _normalize(value.item())
    return value


def _key(value):
    value = _normalize(value)
    return str(value) if value is not None else None


def _equal(expected, actual) -> bool:
    expected, actual = _normalize(expected), _normalize(actual)
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return math.isclose(float(expected), float(actual), rel_tol=1e-9,
                                abs_tol=TOLERANCE)
        except (TypeError, ValueError):
            return False
    return expected == actual


def compare_view(view: str, expected: pd.DataFrame, actual: pd.DataFrame,
                 limit: int = 8) -> list[str]:
    """Human-readable differences between the oracle's frame and the view's rows."""
    keys = oracle.ALL_VIEWS[view][1]
    problems: list[str] = []
    missing = [c for c in expected.columns if c not in actual.columns]
    extra = [c for c in actual.columns if c not in expected.columns]
    if missing or extra:
        problems.append(f"{view}: columns missing {missing}, unexpected {extra}")
    if any(k not in actual.columns for k in keys):
        return problems

    def index(frame: pd.DataFrame) -> dict[tuple, dict]:
        out = {}
        for record in frame.to_dict("records"):
            key = tuple(_key(record[k]) for k in keys)
            if key in out:
                problems.append(f"{view}: duplicate key {dict(zip(keys, key, strict=True))}")
            out[key] = record
        return out

    want, got = index(expected), index(actual)
    only_oracle = sorted(set(want) - set(got), key=str)
    only_view = sorted(set(got) - set(want), key=str)
    for label, rows, source in (("missing from the view", only_oracle, want),
                                ("only in the view", only_view, got)):
        if rows:
            problems.append(f"{view}: {len(rows)} rows {label}, e.g. "
                            + "; ".join(str({c: _normalize(v) for c, v in source[k].items()})
                                        for k in rows[:limit]))
    columns = [c for c in expected.columns if c in actual.columns and c not in keys]
    for column in columns:
        diffs = [(k, want[k][column], got[k][column]) for k in sorted(set(want) & set(got),
                                                                      key=str)
                 if not _equal(want[k][column], got[k][column])]
        if diffs:
            problems.append(
                f"{view}.{column}: {len(diffs)} of {len(set(want) & set(got))} rows differ, "
                "e.g. " + "; ".join(
                    f"{dict(zip(keys, k, strict=True))}: oracle={_normalize(e)!r} "
                    f"view={_normalize(a)!r}" for k, e, a in diffs[:limit]))
    return problems


def compare_all(settings: Settings, root: Path, days: list[dt.date], label: str) -> list[str]:
    views = read_views(settings.warehouse_url)
    problems = []
    with oracle.remembering():
        for view, (function, _keys) in oracle.ALL_VIEWS.items():
            problems += [f"[{label}] {p}" for p in compare_view(view, function(root, days),
                                                                views[view])]
    return problems


# --------------------------------------------------------------------------- tests

pytestmark = pytest.mark.slow


def test_oracle_sees_every_kind_of_row(built_landing: Path) -> None:
    """The generated data exercises what the comparison is meant to check."""
    with oracle.remembering():  # the views read the same partitions
        kpi = oracle.kpi_tenant_daily(built_landing, ALL_DAYS)
        assert (kpi["mau"] > kpi["wau"]).any() and (kpi["new_users"] > 0).any()
        retention = oracle.retention_cohorts(built_landing, ALL_DAYS)
        assert set(retention["day_n"]) == {0, 1, 7, 14, 30}
        funnel = oracle.funnel_daily(built_landing, ALL_DAYS)
        assert set(funnel["funnel_id"]) == {"activation", "upgrade"}
        assert (funnel[funnel["step_index"] > 1]["users"] > 0).any()
        benchmarks = oracle.benchmarks_daily(built_landing, ALL_DAYS)
        assert set(benchmarks["metric"]) == set(oracle.BENCHMARK_METRICS)
        assert len(benchmarks) > 0
        assert (funnel[funnel["step_index"] > 1]["median_seconds_to_step"] > 0).any()
        lifecycle = oracle.user_lifecycle_daily(built_landing, ALL_DAYS)
        for column in ("new_users", "returning_users", "resurrecting_users", "dormant_users"):
            assert (lifecycle[column] > 0).any(), column
        features = oracle.feature_adoption_daily(built_landing, ALL_DAYS)
        assert (features["adopters_30d"] > features["users"]).any()
        assert (features["new_adopters"] < features["users"]).any()
        weekly = oracle.retention_weekly(built_landing, ALL_DAYS)
        assert set(weekly["week_n"]) == {0, 1, 2, 3, 4}  # 32 days: weeks 8 and 12 not yet
        alerts = oracle.kpi_alerts(built_landing, ALL_DAYS)
        assert set(alerts["rule_id"]) == {"dau_drop", "error_rate_spike", "latency_spike"}


def test_bi_views_match_the_oracle_after_one_range_run(
    built_warehouse: Settings, built_landing: Path, tmp_path: Path
) -> None:
    problems = compare_all(built_warehouse, built_landing, ALL_DAYS, f"one run of {DAYS} days")
    assert not problems, "\n".join(problems)

    # dbt docs: the catalog holds every bi view, and every one of its columns is described.
    ok(dbt(["docs", "generate"], DBT_PROJECT, tmp_path,
           WAREHOUSE_URL=built_warehouse.warehouse_url))
    target = tmp_path / "dbt_target"
    catalog = json.loads((target / "catalog.json").read_text())["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    bi_models = [uid for uid, node in manifest.items()
                 if node["resource_type"] == "model" and node["schema"] == "bi"]
    assert sorted(manifest[uid]["name"] for uid in bi_models) == sorted(oracle.ALL_VIEWS)
    for uid in bi_models:
        described = {name for name, c in manifest[uid]["columns"].items() if c["description"]}
        assert catalog[uid]["columns"] and set(catalog[uid]["columns"]) <= described, uid


def alerts_check(instance: dg.DagsterInstance, run_id: str):
    """The evaluation of the KPI alerts check in a run."""
    from orchestration.transform.alerts import ALERTS_CHECK

    evaluations = [
        e.dagster_event.event_specific_data for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.dagster_event.event_specific_data.check_name == ALERTS_CHECK
    ]
    assert len(evaluations) == 1, evaluations
    return evaluations[0]


# A fresh warehouse: days 6-10 first (days 1-5 missing: retention rows for those cohorts must
# not appear yet, and day 6's first-ever users include users whose first day is 1-5); then
# days 1-5, late and out of order, as the sensor runs late exports: new_users, wau/mau,
# retention and funnel cohorts of the days after them must be refreshed.
CHUNKS = [(6, 10), (1, 5)]
REEXPORTED_DAY = 3


def _reexport_without_busiest_tenant(landing: Path, day_: dt.date) -> str:
    """A corrected re-export of a day's events and requests: the busiest tenant's rows are
    gone (its users' first-ever day, dau, retention and funnel cohorts move)."""
    events = pq.read_table(next((landing / "product_events" / f"dt={day_}").glob("*.parquet")))
    tenant = str(events["tenant_id"].to_pandas().value_counts().idxmax())
    for source in ("product_events", "api_requests"):
        folder = landing / source / f"dt={day_}"
        for path in folder.glob("*.parquet"):
            table = pq.read_table(path)
            pq.write_table(table.filter(pc.not_equal(table["tenant_id"], tenant)), path)
        (folder / "_SUCCESS").touch()
    return tenant


def test_bi_views_match_the_oracle_when_days_load_in_chunks_and_out_of_order(
    bi_settings: Settings, built_landing: Path, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    loaded: list[dt.date] = []
    problems = []
    for first, last in CHUNKS:
        summary = run_range(bi_settings, day(first), day(last), instance=instance)
        loaded += [day(n) for n in range(first, last + 1)]
        label = f"after loading days {first}..{last} (loaded: {len(loaded)} days)"
        problems += compare_all(bi_settings, built_landing, sorted(loaded), label)
        # The run's alerts check lists what fired on the run's days, and only those.
        alerts = oracle.kpi_alerts(built_landing, sorted(loaded))
        fired = alerts[alerts["date"].between(day(first), day(last))]
        check = alerts_check(instance, summary.run_id)
        assert check.passed == fired.empty, label
        assert check.metadata["alerts_fired"].value == len(fired), label
        listed = check.metadata["alerts"].value
        assert all(f"| {r.tenant_id} | {r.date} | {r.rule_id} |" in listed
                   for r in fired.head(50).itertuples()), label

    assert not problems, "\n".join(problems)


def test_bi_views_match_the_oracle_after_a_reexport_and_a_full_refresh_from_the_shell(
    built_warehouse_copy: Settings, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    # The sensor's run for a re-exported day: that day alone, over the corrected files.
    settings, landing = built_warehouse_copy, Path(built_warehouse_copy.landing_url)
    tenant = _reexport_without_busiest_tenant(landing, day(REEXPORTED_DAY))
    run_range(settings, day(REEXPORTED_DAY), day(REEXPORTED_DAY), instance=instance)
    label = f"after day {REEXPORTED_DAY} was re-exported without tenant {tenant}"
    problems = compare_all(settings, landing, ALL_DAYS, label)

    # The same warehouse rebuilt from scratch by dbt from the shell gives the same views, and
    # dbt's unit tests, which the daily runs leave out, pass.
    ok(dbt(["build", "--full-refresh"], DBT_PROJECT, tmp_path,
           WAREHOUSE_URL=settings.warehouse_url))
    problems += compare_all(settings, landing, ALL_DAYS, "after --full-refresh")
    assert not problems, "\n".join(problems)
    target = tmp_path / "dbt_target"
    declared = json.loads((target / "manifest.json").read_text())["unit_tests"]
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit_tests = {r["unique_id"]: r["status"] for r in results if r["unique_id"] in declared}
    assert declared and unit_tests == dict.fromkeys(declared, "pass"), unit_tests
