"""Data quality checks: each one fails on data made to break it (the Dagster side is in
test_quality_blocking.py)."""

from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa
import pytest
from support import small_exports as sx

from ingest_loaders.landing import landing_from_url
from ingest_loaders.load import load_partition
from ingest_loaders.quality import CHECKS, checks_for, validate_days
from ingest_loaders.quality.validate import sample_days
from saas_warehouse.sources import load_sources

_days = (dt.date(2026, 6, 1) + dt.timedelta(days=3 * i) for i in itertools.count())


@pytest.fixture(scope="module")
def wh(loading_area: tuple) -> tuple:
    return loading_area


def _load(wh, source: str, day: dt.date, files: dict[str, bytes]):
    client, root = wh
    sx.write_partition(root, source, day, files)
    load_partition(client, landing_from_url(str(root)), load_sources()[source], day)
    return validate_days(client, load_sources()[source], [day])


def _failed(report) -> dict[str, str]:
    return {o.name: o.severity for o in report.outcomes if not o.passed}


def test_valid_days_pass_every_check(wh) -> None:
    for source in load_sources():
        day = next(_days)
        report = _load(wh, source, day, sx.valid_files(source, day, 30))
        expected = {c.name for c in checks_for(load_sources()[source])}
        assert {o.name for o in report.outcomes} == expected
        assert _failed(report) == {}, source
        assert report.sample_rows == 30


def test_every_source_has_every_check() -> None:
    for source in load_sources():  # none is left out because a suite has no rule of that severity
        assert {c.name for c in checks_for(load_sources()[source])} == {c.name for c in CHECKS}


def _csv(source: str, day: dt.date, edit) -> dict[str, bytes]:
    rows = {"billing_line_items": sx.billing_rows(day, 30), "tenants": sx.tenants_rows(30),
            "users": sx.users_rows(30)}[source]
    column = load_sources()[source].column_names.index(edit[0])
    for row in rows[:10]:
        row[column] = edit[1]
    return {f"{source}.csv": sx.csv_bytes(source, rows)}


def _parquet(source: str, day: dt.date, column: str, value) -> dict[str, bytes]:
    table = sx.product_events(day, 30) if source == "product_events" else sx.api_requests(day, 30)
    i = table.column_names.index(column)
    values = table.column(i).to_pylist()
    values[:10] = [value] * 10
    return {"p.parquet": sx.parquet_bytes(
        table.set_column(i, column, pa.array(values, table.schema.field(i).type)))}


SUITE_CASES = [
    # (source, broken files, the check that fails, its severity)
    ("product_events", lambda d: _parquet("product_events", d, "event_version", -1),
     "valid_values", "ERROR"),
    ("product_events", lambda d: _parquet("product_events", d, "event", "teleported"),
     "plausible_values", "WARN"),
    ("api_requests", lambda d: _parquet("api_requests", d, "status_code", 999),
     "valid_values", "ERROR"),
    ("api_requests", lambda d: _parquet("api_requests", d, "latency_ms", 500_000.0),
     "plausible_values", "WARN"),
    ("billing_line_items", lambda d: _csv("billing_line_items", d, ("currency", "EUR")),
     "valid_values", "ERROR"),
    ("billing_line_items", lambda d: _csv("billing_line_items", d, ("amount_usd", "250000.0")),
     "plausible_values", "WARN"),
    ("tenants", lambda d: _csv("tenants", d, ("plan", "platinum")), "valid_values", "ERROR"),
    ("tenants", lambda d: _csv("tenants", d, ("created_at", "1990-01-01T00:00:00Z")),
     "plausible_values", "WARN"),
    ("users", lambda d: _csv("users", d, ("email_sha256", "alice@example.com")),
     "valid_values", "ERROR"),
    ("users", lambda d: _csv("users", d, ("role", "superuser")), "plausible_values", "WARN"),
]


@pytest.mark.parametrize(
    "source,files,check,severity", SUITE_CASES,
    ids=[f"{s}-{c}" for s, _, c, _ in SUITE_CASES],
)
def test_suite_check_fails_on_bad_values(wh, source, files, check, severity) -> None:
    day = next(_days)
    report = _load(wh, source, day, files(day))
    assert _failed(report) == {check: severity}
    outcome = report.outcome(check)
    assert outcome.metadata["failed_expectations"] == 1
    failed = [row for row in outcome.days if row[3] is False]
    assert failed[0][4] == pytest.approx(10 / 30, abs=1e-4)  # unexpected share in the sample
    assert failed[0][5]  # examples of the bad values


def test_unknown_event_share_is_reported(wh) -> None:
    day = next(_days)
    report = _load(wh, "product_events", day, _parquet("product_events", day, "event", "x"))
    assert report.outcome("plausible_values").metadata["unknown_event_share"] == pytest.approx(
        1 / 3, abs=1e-4)


def test_row_count_collapse_fails(wh) -> None:
    day = next(_days)
    _load(wh, "api_requests", day, sx.valid_files("api_requests", day, 200))
    next_day = day + dt.timedelta(days=1)
    report = _load(wh, "api_requests", next_day,
                   sx.valid_files("api_requests", next_day, 40))  # 20% of the previous day
    assert _failed(report) == {"row_count_stable": "ERROR"}
    assert report.outcome("row_count_stable").metadata["lowest_ratio"] == 0.2
    assert report.outcome("row_count_stable").failed_days == [next_day.isoformat()]
    # A day with no rows at all (every row rejected, or an empty export) collapses too,
    # while the value checks have nothing to judge.
    report = _load(wh, "api_requests", next_day, sx.valid_files("api_requests", day, 40))
    assert _failed(report) == {"row_count_stable": "ERROR"}
    # 25% of the previous day is still a plausible (if quiet) day.
    report = _load(wh, "api_requests", next_day, sx.valid_files("api_requests", next_day, 50))
    assert _failed(report) == {}


def test_duplicate_ids_beyond_tolerance_warn(wh) -> None:
    day = next(_days)
    table = sx.api_requests(day, 100)
    report = _load(wh, "api_requests", day, {
        "a.parquet": sx.parquet_bytes(table), "b.parquet": sx.parquet_bytes(table.slice(0, 3))})
    assert _failed(report) == {"ids_unique": "WARN"}
    assert report.outcome("ids_unique").metadata["duplicate_rows"] == 3
    # At-least-once duplicates within the tolerance (2%) pass.
    report = _load(wh, "api_requests", day, {
        "a.parquet": sx.parquet_bytes(table), "b.parquet": sx.parquet_bytes(table.slice(0, 2))})
    assert _failed(report) == {}


def test_empty_key_and_unaccounted_rows_fail(wh) -> None:
    """What raw holds is judged, not what the loader meant to write: a row written around the
    loader (empty tenant_id) fails keys_not_null and rows_accounted_for."""
    client, _ = wh
    day = next(_days)
    _load(wh, "tenants", day, sx.valid_files("tenants", day, 30))
    client.command(
        "INSERT INTO raw.tenants (tenant_id, tenant_name, plan, created_at, _partition_date) "
        "VALUES ('', 'ghost', 'pro', '2025-01-01', {d:Date})", parameters={"d": day})
    report = validate_days(client, load_sources()["tenants"], [day])
    assert _failed(report) == {"keys_not_null": "ERROR", "rows_accounted_for": "ERROR"}
    assert report.outcome("keys_not_null").metadata["rows_with_empty_key"] == 1
    assert report.outcome("rows_accounted_for").days == [[day.isoformat(), 30, 31, 0]]


def test_one_validation_counts_each_bad_value_against_its_own_day(wh) -> None:
    client, _ = wh
    good, bad = next(_days), next(_days)
    _load(wh, "api_requests", good, sx.valid_files("api_requests", good, 30))
    _load(wh, "api_requests", bad, _parquet("api_requests", bad, "status_code", 999))
    report = validate_days(client, load_sources()["api_requests"], [good, bad])
    outcome = report.outcome("valid_values")
    assert outcome.failed_days == [bad.isoformat()]
    status = {row[0]: row for row in outcome.days if row[2] == "status_code"}
    assert status[good.isoformat()][3:] == [True, 0.0, ""]
    assert status[bad.isoformat()][3] is False
    assert status[bad.isoformat()][4] == pytest.approx(10 / 30, abs=1e-4)
    assert status[bad.isoformat()][5] == "999"


def test_the_sample_is_each_days_rows_with_the_smallest_origin_hashes(wh) -> None:
    client, _ = wh
    days = [next(_days), next(_days)]
    for day in days:
        _load(wh, "api_requests", day, sx.valid_files("api_requests", day, 200))
    # a cut at ~100 of 200 rows a day
    frame = sample_days(client, load_sources()["api_requests"], {day: 200 for day in days}, 50)
    for day in days:
        expected = client.query(
            "SELECT latency_ms FROM raw.api_requests WHERE _partition_date = {day:Date} "
            "ORDER BY intHash64(_source_row + cityHash64(_source_file)) LIMIT 50",
            parameters={"day": day},
        ).result_rows
        assert frame[frame["_day"] == day.isoformat()]["latency_ms"].tolist() == [
            r[0] for r in expected]
