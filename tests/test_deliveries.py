"""Repeated deliveries are marked when a day is loaded (ingest_loaders/deliveries.py): raw
keeps every copy, exactly one per (day, delivery key) is the first, the lowest (file, row);
days loaded before the marking are marked by `ensure_raw_tables`."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import small_exports as sx

from ingest_loaders.deliveries import FIRST, REPEAT
from ingest_loaders.landing import landing_from_url
from ingest_loaders.load import load_partition
from ingest_loaders.tables import ensure_raw_tables
from saas_warehouse.sources import load_sources

DAY = dt.date(2026, 6, 1)
N = 30


@pytest.fixture(scope="module")
def wh(loading_area: tuple) -> tuple:
    return loading_area


def _copies(table: pa.Table, start: int, stop: int) -> pa.Table:
    """Repeats of rows start..stop-1, told apart from the originals by their app_version."""
    part = table.slice(start, stop - start)
    return part.set_column(part.column_names.index("app_version"), "app_version",
                           pa.array(["repeat"] * part.num_rows))


def _expected_first(files: dict[str, bytes], key: list[str], read) -> set[tuple[str, int]]:
    """pandas: (file, row) of the first copy of each key, files in name order, rows 1-based."""
    frames = []
    for name in sorted(files):
        frame = read(files[name])
        frame["_file"], frame["_row"] = name, range(1, len(frame) + 1)
        frames.append(frame)
    firsts = pd.concat(frames).drop_duplicates(key, keep="first")
    return set(zip(firsts["_file"], firsts["_row"], strict=True))


def _marks(client, table: str, day: dt.date) -> dict[tuple[str, int], int]:
    rows = client.query(
        f"SELECT _source_file, _source_row, _delivery FROM {table} WHERE _partition_date = "
        "{d:Date}", parameters={"d": day}).result_rows
    return {(file.rsplit("/", 1)[-1], int(row)): int(mark) for file, row, mark in rows}


def test_repeats_within_and_across_files_are_marked(wh) -> None:
    client, root = wh
    events = sx.product_events(DAY, N)
    files = {  # 4 repeats inside part-0, 6 in part-1 (2 of them repeating part-0's repeats)
        "part-0.parquet": sx.parquet_bytes(pa.concat_tables([events, _copies(events, 0, 4)])),
        "part-1.parquet": sx.parquet_bytes(_copies(events, 2, 8)),
    }
    sx.write_partition(root, "product_events", DAY, files)
    events = load_sources()["product_events"]
    result = load_partition(client, landing_from_url(str(root)), events, DAY)

    assert (result.rows_loaded, result.rows_repeated) == (N + 10, 10)
    marks = _marks(client, "raw.product_events", DAY)
    first = _expected_first(files, ["event_id"], lambda b: pq.read_table(io.BytesIO(b)).to_pandas())
    assert {k for k, mark in marks.items() if mark == FIRST} == first
    assert {k for k, mark in marks.items() if mark == REPEAT} == marks.keys() - first
    kept = client.query(
        "SELECT uniqExact(event_id), count(), countIf(app_version = 'repeat') "
        "FROM raw.product_events WHERE _partition_date = {d:Date} AND _delivery = 1",
        parameters={"d": DAY}).result_rows[0]
    assert kept == (N, N, 0)  # one copy per id, and the first one delivered


def test_the_delivery_key_can_span_columns(wh) -> None:
    """A user id is unique within its tenant: the same id in two tenants is two users."""
    client, root = wh
    rows = sx.users_rows(6)
    other_tenant = [rows[0][0], "t9", *rows[0][2:]]
    files = {"users.csv": sx.csv_bytes("users", [*rows, other_tenant, rows[1]])}
    sx.write_partition(root, "users", DAY, files)
    result = load_partition(client, landing_from_url(str(root)), load_sources()["users"], DAY)

    assert result.rows_repeated == 1
    first = _expected_first(files, ["tenant_id", "user_id"],
                            lambda b: pd.read_csv(io.BytesIO(b), dtype=str))
    marks = _marks(client, "raw.users", DAY)
    assert {k for k, mark in marks.items() if mark == FIRST} == first
    assert marks[("users.csv", 8)] == REPEAT  # rows[1] again


def test_days_loaded_before_the_marking_are_marked(wh) -> None:
    """A table from before the `_delivery` column: ensure_raw_tables adds it and marks every
    day it holds as the loader would have."""
    client, root = wh
    day = DAY + dt.timedelta(days=1)
    requests = sx.api_requests(day, N)
    repeats = requests.slice(3, 5)
    sx.write_partition(root, "api_requests", day, {
        "a.parquet": sx.parquet_bytes(requests), "b.parquet": sx.parquet_bytes(repeats)})
    load_partition(client, landing_from_url(str(root)), load_sources()["api_requests"], day)
    marked = _marks(client, "raw.api_requests", day)
    # b.parquet repeats 5 rows of a.parquet: its rows are the repeats, a's the firsts
    assert {k for k, mark in marked.items() if mark == REPEAT} == {
        ("b.parquet", row) for row in range(1, 6)}

    client.command("ALTER TABLE raw.api_requests DROP COLUMN _delivery")
    ensure_raw_tables(client)
    assert _marks(client, "raw.api_requests", day) == marked
    ensure_raw_tables(client)  # nothing left to mark: unchanged
    assert _marks(client, "raw.api_requests", day) == marked
