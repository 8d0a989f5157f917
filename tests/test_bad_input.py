"""The bad-input matrix (README "Bad input"): every case loads a good version of a day first,
then a broken re-export of it, straight through `load_partition` on a real chDB warehouse.

Row-level problems: the day loads, the bad rows are in raw.rejects with a reason and the raw
row. File-level problems: the load fails naming the file, and the previous version of the day
is still what raw shows. Always: rows read = rows loaded + rows rejected.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pytest
from support import small_exports as sx

from ingest_loaders.errors import TerminalLoadError
from ingest_loaders.landing import landing_from_url
from ingest_loaders.load import load_partition
from saas_warehouse.sources import load_sources

N = 20  # rows per file
PROPERTIES_MAX_BYTES = load_sources()["product_events"].column("properties").max_bytes or 0
_days = (dt.date(2026, 5, 1) + dt.timedelta(days=i) for i in itertools.count())


@pytest.fixture(scope="module")
def wh(loading_area: tuple) -> tuple:
    return loading_area


def _events(day: dt.date, **columns) -> bytes:
    table = sx.product_events(day, N)
    for name, values in columns.items():
        index = table.column_names.index(name)
        table = table.set_column(index, name, values)
    return sx.parquet_bytes(table)


def _billing(day: dt.date, edit: Callable[[list[list[str]]], None]) -> bytes:
    rows = sx.billing_rows(day, N)
    edit(rows)
    return sx.csv_bytes("billing_line_items", rows)


def _set(row: int, col: int, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[row][col] = value
    return edit


def _events_extra(day: dt.date) -> bytes:
    table = sx.product_events(day, N)
    return sx.parquet_bytes(table.append_column("country", pa.array(["FR"] * N)))


def _events_missing(day: dt.date, column: str) -> bytes:
    return sx.parquet_bytes(sx.product_events(day, N).drop_columns([column]))


def _billing_columns(day: dt.date, header: list[str]) -> bytes:
    """The day's billing rows with only (and in the order of) `header`'s columns."""
    names = list(load_sources()[C].column_names)
    rows = [[row[names.index(h)] if h in names else "x" for h in header]
            for row in sx.billing_rows(day, N)]
    return sx.csv_bytes(C, rows, header)


def _csv_lines(day: dt.date, edit: Callable[[list[str]], None]) -> bytes:
    lines = sx.csv_bytes("billing_line_items", sx.billing_rows(day, N)).decode().splitlines()
    edit(lines)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    files: Callable[[dt.date], dict[str, bytes]]
    error: str | None = None  # a file-level failure: part of its message
    rejects: dict[int, str] | None = None  # row number → reason (row-level)
    rows: int = N  # rows read from the files
    # (column, action) recorded in raw.schema_changes by this case (docs/contract.md §3)
    changes: frozenset[tuple[str, str]] = frozenset()
    same_rows: bool = False  # loads exactly the rows of the valid files it replaces


P, C = "product_events", "billing_line_items"
CASES = [
    # --- file-level: the day fails naming the file, the previous version stays ---
    Case("empty parquet file", P, lambda d: {"part-0.parquet": b""},
         error="part-0.parquet: not a readable Parquet file"),
    Case("truncated parquet", P, lambda d: {"part-0.parquet": _events(d)[:300]},
         error="part-0.parquet: not a readable Parquet file"),
    Case("corrupt parquet", P, lambda d: {"part-0.parquet": b"PAR1" + b"\x00garbage" * 50},
         error="part-0.parquet: not a readable Parquet file"),
    # --- schema drift (docs/contract.md §3; the sources' policy is evolve) ---
    Case("parquet missing optional column loads as NULL", P,
         lambda d: {"part-0.parquet": _events_missing(d, "os")}, rejects={},
         changes=frozenset({("os", "missing")})),
    Case("parquet missing required column", P,
         lambda d: {"part-0.parquet": _events_missing(d, "user_id")},
         error="schema drift: required column user_id is missing",
         changes=frozenset({("user_id", "rejected")})),
    Case("parquet extra column is added", P, lambda d: {"part-0.parquet": _events_extra(d)},
         rejects={}, changes=frozenset({("country", "added")})),
    Case("parquet widened type loads", P, lambda d: {"part-0.parquet": _events(
        d, event_version=pa.array([1] * N, pa.int16()))}, rejects={},
         changes=frozenset({("event_version", "widened")})),
    Case("parquet narrowed type", P, lambda d: {"part-0.parquet": _events(
        d, event_version=pa.array([1] * N, pa.int64()))},
         error="column event_version is Int64 in the file, expected Int32",
         changes=frozenset({("event_version", "rejected")})),
    Case("parquet wrong type", P,
         lambda d: {"part-0.parquet": _events(d, event_version=pa.array(["1"] * N))},
         error="column event_version is String in the file, expected Int32",
         changes=frozenset({("event_version", "rejected")})),
    Case("empty csv file", C, lambda d: {"items.csv": b""},
         error="items.csv: empty file: expected a CSV header row"),
    Case("csv missing optional column loads as NULL", C, lambda d: {
        "items.csv": _billing_columns(d, list(load_sources()[C].column_names[:-1]))},
         rejects={}, changes=frozenset({("currency", "missing")})),
    Case("csv missing required column", C, lambda d: {"items.csv": _billing_columns(
        d, [c for c in load_sources()[C].column_names if c != "amount_usd"])},
         error="schema drift: required column amount_usd is missing",
         changes=frozenset({("amount_usd", "rejected")})),
    Case("csv extra column is added", C, lambda d: {
        "items.csv": _billing_columns(d, [*load_sources()[C].column_names, "note"])},
         rejects={}, changes=frozenset({("note", "added")})),
    Case("csv reordered header loads the same rows", C, lambda d: {
        f"{C}.csv": _billing_columns(d, list(reversed(load_sources()[C].column_names)))},
         rejects={}, same_rows=True),
    Case("csv header naming a column twice", C, lambda d: {
        "items.csv": _billing_columns(d, [*load_sources()[C].column_names, "service"])},
         error="the header names a column twice"),
    Case("csv file in a parquet source", P, lambda d: {"part-0.csv": b"a,b\n1,2\n"},
         error="expected Parquet files for this source, found part-0.csv"),
    # --- row-level: the day loads, bad rows go to raw.rejects ---
    Case("null tenant_id", P, lambda d: {"part-0.parquet": _events(
        d, tenant_id=pa.array([None if i == 2 else "t1" for i in range(N)], pa.string()))},
         rejects={3: "tenant_id is missing"}),
    Case("ts outside the day", P, lambda d: {"part-0.parquet": _events(d, ts=pa.array(
        [sx._ts(d, i) + dt.timedelta(days=1 if i == 0 else 0) for i in range(N)],
        pa.timestamp("ms", tz="UTC")))},
         rejects={1: "is outside the partition day"}),
    Case("oversized properties", P, lambda d: {"part-0.parquet": _events(d, properties=pa.array(
        ['{"k":"' + "x" * PROPERTIES_MAX_BYTES + '"}' if i == 4 else "{}" for i in range(N)]))},
         rejects={5: f"properties is larger than {PROPERTIES_MAX_BYTES} bytes: "
                     f"{PROPERTIES_MAX_BYTES + 8} bytes"}),
    Case("non-UTF-8 bytes in parquet", P, lambda d: {"part-0.parquet": _events(
        d, session_id=pa.array([b"s\xff\xfe" if i == 6 else b"s" for i in range(N)], pa.binary()))},
         rejects={7: "session_id is not valid UTF-8"}),
    Case("unknown event names are kept", P, lambda d: {"part-0.parquet": _events(
        d, event=pa.array(["teleported"] * N))}, rejects={}),
    Case("duplicate ids within and across files", P, lambda d: {
        "part-0.parquet": sx.parquet_bytes(pa.concat_tables(
            [sx.product_events(d, N), sx.product_events(d, N).slice(0, 5)])),
        "part-1.parquet": sx.parquet_bytes(sx.product_events(d, N).slice(5, 10))},
         rejects={}, rows=N + 5 + 10),
    Case("abc in a numeric column", C, lambda d: {"items.csv": _billing(d, _set(1, 5, "abc"))},
         rejects={2: "quantity is not a valid decimal number: abc"}),
    Case("null tenant_id in csv", C, lambda d: {"items.csv": _billing(d, _set(0, 1, ""))},
         rejects={1: "tenant_id is missing"}),
    Case("usage_date outside the day", C, lambda d: {"items.csv": _billing(
        d, _set(3, 2, (d + dt.timedelta(days=1)).isoformat()))},
         rejects={4: "is not the partition day"}),
    Case("csv row with more fields", C, lambda d: {"items.csv": _csv_lines(
        d, lambda ls: ls.__setitem__(2, ls[2] + ",extra"))},
         rejects={2: "the row has more fields than the header"}),
    Case("csv row with fewer fields", C, lambda d: {"items.csv": _csv_lines(
        d, lambda ls: ls.__setitem__(3, ",".join(ls[3].split(",")[:4])))},
         rejects={3: "the row has fewer fields than the header"}),
    Case("csv non-UTF-8 bytes", C, lambda d: {"items.csv": _csv_lines(
        d, lambda ls: ls.__setitem__(5, ls[5].replace("search", "se\udcffrch")))},
         rejects={5: "service is not valid UTF-8"}),
    Case("csv quote inside a field is kept", C, lambda d: {"items.csv": _csv_lines(
        d, lambda ls: ls.__setitem__(1, ls[1].replace("search", 'sea"rch')))}, rejects={}),
    # An unclosed quote runs to the end of the file (CSV quoting): the rows it swallowed are
    # inside the one row it makes, rejected with them as its raw row.
    Case("csv unclosed quote", C, lambda d: {"items.csv": _csv_lines(
        d, lambda ls: ls.__setitem__(N - 2, ls[N - 2].replace(",search,", ',"search,')))},
         rejects={N - 2: "the row has fewer fields than the header"}, rows=N - 2),
    Case("csv header only", C, lambda d: {"items.csv": sx.csv_bytes(C, [])}, rejects={}, rows=0),
]


def _changes(client, source: str, day: dt.date) -> set[tuple[str, str]]:
    return set(client.query(
        "SELECT column_name, action FROM raw.schema_changes WHERE source = {s:String} "
        "AND partition_date = {d:Date}", parameters={"s": source, "d": day}).result_rows)


def _day_state(client, source: str, day: dt.date) -> tuple:
    """What readers see of a day: raw rows and rejects, order-independent."""
    table = load_sources()[source].table
    raw = client.query(
        f"SELECT count(), sum(cityHash64(*)) FROM (SELECT * EXCEPT (_load_id, _loaded_at) "
        f"FROM {table} WHERE _partition_date = {{d:Date}})", parameters={"d": day}
    ).result_rows[0]
    rejects = client.query(
        "SELECT count() FROM raw.rejects WHERE source = {s:String} AND partition_date = {d:Date}",
        parameters={"s": source, "d": day},
    ).result_rows[0]
    return tuple(raw) + tuple(rejects)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(wh, case: Case) -> None:
    client, root = wh
    day = next(_days)
    landing = landing_from_url(str(root))
    sx.write_partition(root, case.source, day, sx.valid_files(case.source, day, N))
    assert load_partition(client, landing, load_sources()[case.source], day).rows_loaded == N
    before = _day_state(client, case.source, day)

    sx.write_partition(root, case.source, day, case.files(day))
    if case.error:
        with pytest.raises(TerminalLoadError) as failure:
            load_partition(client, landing, load_sources()[case.source], day)
        message = str(failure.value)
        assert f"{case.source}/dt={day.isoformat()}/" in message  # names the file
        assert case.error in message
        assert _day_state(client, case.source, day) == before  # the previous day stays
        status, logged = client.query(
            "SELECT status, message FROM raw.load_ledger WHERE source = {s:String} "
            "AND partition_date = {d:Date} ORDER BY loaded_at DESC LIMIT 1",
            parameters={"s": case.source, "d": day},
        ).result_rows[0]
        assert status == "failed" and case.error.split(": ", 1)[-1] in logged
        assert _changes(client, case.source, day) == case.changes
        return

    result = load_partition(client, landing, load_sources()[case.source], day)
    assert result.status == "loaded"
    assert _changes(client, case.source, day) == case.changes
    if case.same_rows:
        assert _day_state(client, case.source, day) == before
    assert result.rows_read == case.rows == result.rows_loaded + result.rows_rejected
    rejects = client.query(
        "SELECT row_number, reason, raw_row FROM raw.rejects WHERE source = {s:String} "
        "AND partition_date = {d:Date} ORDER BY row_number",
        parameters={"s": case.source, "d": day},
    ).result_rows
    assert {row: reason for row, reason, _ in rejects}.keys() == case.rejects.keys()
    for row, reason, raw_row in rejects:
        assert case.rejects[row] in reason
        assert raw_row.startswith("{")  # the row as read, as JSON
    rows, _, rejected = _day_state(client, case.source, day)
    assert (rows, rejected) == (case.rows - len(case.rejects), len(case.rejects))
    ledger = client.query(
        "SELECT sum(rows_read), sum(rows_loaded), sum(rows_rejected) FROM raw.load_ledger "
        "WHERE load_id = {id:String}", parameters={"id": result.load_id},
    ).result_rows[0]
    assert ledger == (case.rows, rows, rejected)


def test_partition_without_success_is_not_loaded(wh) -> None:
    client, root = wh
    day = next(_days)
    landing = landing_from_url(str(root))
    sx.write_partition(root, "tenants", day, sx.valid_files("tenants", day, N))
    load_partition(client, landing, load_sources()["tenants"], day)
    before = _day_state(client, "tenants", day)
    # A re-export in progress: new files, no marker yet.
    sx.write_partition(root, "tenants", day, sx.valid_files("tenants", day, 3), success=False)
    assert load_partition(client, landing, load_sources()["tenants"], day).status == "incomplete"
    assert _day_state(client, "tenants", day) == before


def test_reexport_with_fewer_rows_replaces_the_day(wh) -> None:
    client, root = wh
    day = next(_days)
    landing = landing_from_url(str(root))
    sx.write_partition(root, "api_requests", day, {
        "a.parquet": sx.parquet_bytes(sx.api_requests(day, N, "a")),
        "b.parquet": sx.parquet_bytes(sx.api_requests(day, N, "b")),
    })
    assert load_partition(client, landing, load_sources()["api_requests"], day).rows_loaded == 2 * N
    sx.write_partition(root, "api_requests", day, {
        "c.parquet": sx.parquet_bytes(sx.api_requests(day, 5, "c"))})
    assert load_partition(client, landing, load_sources()["api_requests"], day).rows_loaded == 5
    files = client.query(
        "SELECT _source_file, count() FROM raw.api_requests WHERE _partition_date = {d:Date} "
        "GROUP BY 1", parameters={"d": day}).result_rows
    assert files == [(f"api_requests/dt={day.isoformat()}/c.parquet", 5)]
