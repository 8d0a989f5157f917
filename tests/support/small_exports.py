"""Small hand-built exports (docs/contract.md §3) for bad-input, quality and fault tests: a few rows
per file, written exactly as a producer would, then broken one way at a time."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from saas_warehouse.sources import load_sources

EVENTS = ["signup", "login", "feature_used", "logout"]


def _ts(day: dt.date, i: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(seconds=37 * i)


def product_events(day: dt.date, n: int, prefix: str = "e") -> pa.Table:
    return pa.table({
        "event_id": [f"{prefix}{i}" for i in range(n)],
        "tenant_id": [f"t{i % 3}" for i in range(n)],
        "user_id": [f"u{i % 7}" for i in range(n)],
        "session_id": [f"s{i % 5}" for i in range(n)],
        "event": [EVENTS[i % len(EVENTS)] for i in range(n)],
        "ts": pa.array([_ts(day, i) for i in range(n)], pa.timestamp("ms", tz="UTC")),
        "properties": ['{"feature":"export"}'] * n,
        "app_version": ["1.2.0"] * n,
        "os": ["ios"] * n,
        "locale": ["en-US"] * n,
        "event_version": pa.array([1] * n, pa.int32()),
    })


def api_requests(day: dt.date, n: int, prefix: str = "r") -> pa.Table:
    return pa.table({
        "request_id": [f"{prefix}{i}" for i in range(n)],
        "tenant_id": [f"t{i % 3}" for i in range(n)],
        "service": ["search"] * n,
        "endpoint": ["/v1/search"] * n,
        "method": ["GET"] * n,
        "status_code": pa.array([200 if i % 10 else 503 for i in range(n)], pa.int32()),
        "latency_ms": pa.array([10.0 + i for i in range(n)], pa.float64()),
        "request_bytes": pa.array([100] * n, pa.int64()),
        "response_bytes": pa.array([2000] * n, pa.int64()),
        "ts": pa.array([_ts(day, i) for i in range(n)], pa.timestamp("ms", tz="UTC")),
    })


def billing_rows(day: dt.date, n: int, prefix: str = "li") -> list[list[str]]:
    return [
        [f"{prefix}{i}", f"t{i % 3}", day.isoformat(), "search", "api_calls", f"{i + 1}.000000",
         "0.001500", f"{(i + 1) * 0.0015:.6f}", "USD"]
        for i in range(n)
    ]


def tenants_rows(n: int) -> list[list[str]]:
    plans = ["free", "starter", "pro", "enterprise"]
    return [[f"t{i}", f"Tenant {i}", plans[i % 4], "eu-west-1", "2025-01-02T03:04:05.000Z",
             "true"] for i in range(n)]


def users_rows(n: int, role: str | None = None) -> list[list[str]]:
    roles = ["owner", "admin", "member", "viewer"]
    return [[f"u{i}", f"t{i % 3}", role or roles[i % 4], "2025-02-03T04:05:06.000Z",
             f"{i:064x}"] for i in range(n)]


def csv_bytes(source: str, rows: list[list[str]], header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header or load_sources()[source].column_names)
    writer.writerows(rows)
    return out.getvalue().encode()


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def valid_files(source: str, day: dt.date, n: int) -> dict[str, bytes]:
    """One valid file of n rows (snapshots ignore the day)."""
    if source == "product_events":
        return {"part-0.parquet": parquet_bytes(product_events(day, n))}
    if source == "api_requests":
        return {"part-0.parquet": parquet_bytes(api_requests(day, n))}
    rows = {"billing_line_items": lambda: billing_rows(day, n),
            "tenants": lambda: tenants_rows(n), "users": lambda: users_rows(n)}[source]()
    return {f"{source}.csv": csv_bytes(source, rows)}


def write_partition(
    root: Path, source: str, day: dt.date, files: dict[str, bytes], *, success: bool = True
) -> Path:
    """Replace the partition's files (a re-export) and, by default, write `_SUCCESS` last."""
    folder = root / source / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if success:
        (folder / "_SUCCESS").write_bytes(b"")
    return folder
