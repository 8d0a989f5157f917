"""Schema changes (docs/contract.md §3): each policy, a column that changes type between days, a
re-run that records nothing new, and days loaded side by side while one of them adds a
column. The single-file cases are in the bad-input matrix (test_bad_input.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import subprocess
import sys

import pyarrow as pa
import pytest
from support import small_exports as sx

from ingest_loaders.errors import TerminalLoadError
from ingest_loaders.landing import landing_from_url
from ingest_loaders.load import load_partition
from ingest_loaders.load_days import load_days
from ingest_loaders.scratch import ScratchTables
from ingest_loaders.tables import add_columns
from saas_warehouse.sources import load_sources
from saas_warehouse.warehouse import open_warehouse

P = "product_events"
N = 12
_days = (dt.date(2026, 7, 1) + dt.timedelta(days=i) for i in itertools.count())


def _with(day: dt.date, column: str, values: pa.Array) -> dict[str, bytes]:
    """The day's events with one more column."""
    table = sx.product_events(day, len(values))
    return {"part-0.parquet": sx.parquet_bytes(table.append_column(column, values))}


def _write(root, day: dt.date, column: str, values: pa.Array) -> None:
    sx.write_partition(root, P, day, _with(day, column, values))


def _changes(client, column: str) -> list[tuple]:
    return client.query(
        "SELECT partition_date, column_type, action FROM raw.schema_changes "
        "WHERE source = {s:String} AND column_name = {c:String} ORDER BY detected_at",
        parameters={"s": P, "c": column},
    ).result_rows


def _raw_type(client, column: str) -> str | None:
    rows = client.query(
        "SELECT type FROM system.columns WHERE database = 'raw' AND table = {t:String} "
        "AND name = {c:String}", parameters={"t": P, "c": column}).result_rows
    return rows[0][0] if rows else None


def _declared_with(policy: str):
    """product_events declared with another schema policy."""
    return dataclasses.replace(load_sources()[P], schema_policy=policy)


def test_evolve_adds_the_column_once_and_older_days_read_null(loading_area) -> None:
    client, root = loading_area
    landing = landing_from_url(str(root))
    old_day, new_day, later_day = next(_days), next(_days), next(_days)
    sx.write_partition(root, P, old_day, sx.valid_files(P, old_day, N))
    load_partition(client, landing, load_sources()[P], old_day)

    _write(root, new_day, "plan_tier", pa.array(range(N), pa.int64()))
    _write(root, later_day, "plan_tier", pa.array([7] * N, pa.int16()))
    load_partition(client, landing, load_sources()[P], new_day)
    load_partition(client, landing, load_sources()[P], later_day)
    # a re-run: nothing new
    load_partition(client, landing, load_sources()[P], later_day, force=True)

    assert _raw_type(client, "plan_tier") == "Nullable(Int64)"
    assert _changes(client, "plan_tier") == [
        (new_day, "Nullable(Int64)", "added"), (later_day, "Int16", "widened")]
    by_day = dict(client.query(
        "SELECT _partition_date, sum(plan_tier) FROM raw.product_events "
        "WHERE _partition_date IN {d:Array(Date)} GROUP BY 1",
        parameters={"d": [old_day, new_day, later_day]}).result_rows)
    assert by_day == {old_day: None, new_day: sum(range(N)), later_day: 7 * N}


def test_a_column_that_changes_type_between_days_fails_naming_it(loading_area) -> None:
    client, root = loading_area
    landing = landing_from_url(str(root))
    first, second = next(_days), next(_days)
    _write(root, first, "coupon_code", pa.array([1] * N, pa.int32()))
    load_partition(client, landing, load_sources()[P], first)
    _write(root, second, "coupon_code", pa.array(["SPRING"] * N))
    with pytest.raises(TerminalLoadError, match=(
            r"product_events/dt=.*: column coupon_code is String in the file, "
            r"expected Int32 \(only lossless widenings load\)")):
        load_partition(client, landing, load_sources()[P], second)
    assert (second, "String", "rejected") in _changes(client, "coupon_code")
    count = client.query("SELECT count() FROM raw.product_events WHERE _partition_date = "
                         "{d:Date}", parameters={"d": second}).result_rows[0][0]
    assert count == 0  # nothing of the day was swapped in


def test_freeze_fails_the_day_naming_the_column(loading_area) -> None:
    client, root = loading_area
    day = next(_days)
    _write(root, day, "referrer", pa.array(["ads"] * N))
    with pytest.raises(TerminalLoadError, match="column referrer .* schema_policy is freeze"):
        load_partition(client, landing_from_url(str(root)), _declared_with("freeze"), day)
    assert _raw_type(client, "referrer") is None
    assert _changes(client, "referrer") == [(day, "String", "rejected")]


def test_discard_loads_the_day_without_the_column(loading_area) -> None:
    client, root = loading_area
    day = next(_days)
    _write(root, day, "experiment", pa.array(["b"] * N))
    result = load_partition(client, landing_from_url(str(root)), _declared_with("discard"), day)
    assert result.rows_loaded == N
    assert _raw_type(client, "experiment") is None
    assert _changes(client, "experiment") == [(day, "String", "discarded")]


def test_days_loaded_side_by_side_while_one_adds_a_column(loading_area) -> None:
    """Another day's stage was made before the column existed: it gets it before its swap."""
    a, root = loading_area
    days = [dt.date(2026, 8, 1) + dt.timedelta(days=i) for i in range(6)]
    for i, day in enumerate(days):
        files = (_with(day, "region_hint", pa.array(["eu"] * 2000)) if i == 3
                 else {"part-0.parquet": sx.parquet_bytes(sx.product_events(day, 2000))})
        sx.write_partition(root, P, day, files)
    with open_warehouse(f"chdb://{root.parent / 'wh'}") as b:  # the area's engine, 2nd client
        results = load_days([a, b], landing_from_url(str(root)), load_sources()[P], days)
        assert [r.rows_loaded for r in results] == [2000] * 6
        hinted = a.query("SELECT _partition_date, count() FROM raw.product_events "
                         "WHERE region_hint = 'eu' GROUP BY 1").result_rows
    assert hinted == [(days[3], 2000)]


def test_a_stage_made_before_another_load_added_a_column_gets_it(loading_area) -> None:
    """The race above, made deterministic: the column arrives between create() and the swap."""
    client, _ = loading_area
    scratch = ScratchTables(client, load_sources()[P], next(_days), "align")
    scratch.create()
    try:
        add_columns(client, "raw.product_events", [("late_hint", "Nullable(String)")])
        scratch.align_to_raw()
        columns = ("SELECT name, type FROM system.columns WHERE database = 'raw' "
                   "AND table = {t:String} ORDER BY position")
        stage = client.query(columns, parameters={"t": scratch.stage.split(".")[1]})
        raw = client.query(columns, parameters={"t": "product_events"})
        assert ("late_hint", "Nullable(String)") in stage.result_rows
        assert sorted(stage.result_rows) == sorted(raw.result_rows)
    finally:
        scratch.drop()


OLD_LEDGER = """
import json, sys
from ingest_loaders.tables import ensure_raw_tables
from saas_warehouse.warehouse import ensure_databases, open_warehouse
old = ("load_id String, source LowCardinality(String), partition_date Date, file String, "
       "fingerprint String, size_bytes UInt64, rows_read UInt64, rows_loaded UInt64, "
       "rows_rejected UInt64, status LowCardinality(String), message String, "
       "loaded_at DateTime64(3, 'UTC')")
with open_warehouse(sys.argv[1]) as client:
    ensure_databases(client)
    client.command("CREATE DATABASE IF NOT EXISTS raw")
    client.command(f"CREATE TABLE raw.load_ledger ({old}) ENGINE = MergeTree "
                   "ORDER BY (source, partition_date, loaded_at, file)")
    client.command("INSERT INTO raw.load_ledger (load_id, source) VALUES ('l1', 'users')")
    ensure_raw_tables(client)
    ensure_raw_tables(client)  # nothing left to add: no error
    columns = client.query("SELECT name, type FROM system.columns WHERE database = 'raw' "
                           "AND table = 'load_ledger' ORDER BY position").result_rows
    kept = client.query("SELECT load_id, source FROM raw.load_ledger").result_rows
print(json.dumps([columns, kept]))
"""


def test_a_ledger_made_before_its_newer_columns_gets_them_in_order(tmp_path) -> None:
    """A warehouse whose raw.load_ledger predates `landed_at` and `load_seconds` (the columns
    as they were, written here by hand) gets both, each after the one before it, and keeps
    its rows. (In a process of its own: this module's process holds another warehouse.)"""
    from ingest_loaders.tables import LEDGER_COLUMNS
    from saas_warehouse.settings import REPO_ROOT

    done = subprocess.run([sys.executable, "-c", OLD_LEDGER, f"chdb://{tmp_path / 'wh'}"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    columns, kept = json.loads(done.stdout.splitlines()[-1])
    assert [tuple(c) for c in columns] == LEDGER_COLUMNS and kept == [["l1", "users"]]
