"""The sample export generator writes exactly what docs/contract.md §3 promises,
deterministically."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from saas_warehouse.sources import load_sources
from sample_exports import SOURCES, GenerateSummary, generate
from sample_exports.common import SCHEMAS

START = dt.date(2026, 3, 2)  # a Monday: the window is all working days
DAYS = 4
KW = {"tenants": 12, "seed": 3, "events_per_day": 5000, "progress": False}
DAY_LIST = [START + dt.timedelta(days=i) for i in range(DAYS)]

ISO_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MONEY = re.compile(r"^\d+(\.\d{1,6})?$")
EXPECTED_CSV_HEADERS = {
    "billing_line_items": "line_item_id,tenant_id,usage_date,service,metric,quantity,"
    "unit_price_usd,amount_usd,currency",
    "tenants": "tenant_id,tenant_name,plan,region,created_at,is_active",
    "users": "user_id,tenant_id,role,signup_at,email_sha256",
}
PARQUET_TYPES = {
    "product_events": {
        "event_id": pa.string(), "tenant_id": pa.string(), "user_id": pa.string(),
        "session_id": pa.string(), "event": pa.string(), "ts": pa.timestamp("ms", tz="UTC"),
        "properties": pa.string(), "app_version": pa.string(), "os": pa.string(),
        "locale": pa.string(), "event_version": pa.int32(),
    },
    "api_requests": {
        "request_id": pa.string(), "tenant_id": pa.string(), "service": pa.string(),
        "endpoint": pa.string(), "method": pa.string(), "status_code": pa.int32(),
        "latency_ms": pa.float64(), "request_bytes": pa.int64(), "response_bytes": pa.int64(),
        "ts": pa.timestamp("ms", tz="UTC"),
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary, float]:
    root = tmp_path_factory.mktemp("gen")
    started = time.perf_counter()
    summary = generate(str(root), START, DAYS, **KW)
    return root, summary, time.perf_counter() - started


@pytest.fixture(scope="module")
def root(run: tuple[Path, GenerateSummary, float]) -> Path:
    return run[0]


def part_dir(root: Path, source: str, day: dt.date) -> Path:
    return root / source / f"dt={day.isoformat()}"


def read_day(root: Path, source: str, day: dt.date) -> pd.DataFrame:
    d = part_dir(root, source, day)
    if source in PARQUET_TYPES:
        return pd.concat([pd.read_parquet(f) for f in sorted(d.glob("*.parquet"))])
    return pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(d.glob("*.csv"))]
    )


def read_all(root: Path, source: str) -> pd.DataFrame:
    frames = []
    for day in DAY_LIST:
        df = read_day(root, source, day)
        df["_day"] = day
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def all_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_summary_counts_what_was_written(run: tuple[Path, GenerateSummary, float]) -> None:
    root, summary, elapsed = run
    assert summary.days == DAYS and summary.partitions == DAYS * len(SOURCES)
    assert summary.files == DAYS * (2 + 1 + 1 + 1 + 1)  # product_events has two files a day
    files = [p for p in root.rglob("*") if p.is_file() and p.name != "_SUCCESS"]
    assert len(files) == summary.files
    assert summary.bytes == sum(p.stat().st_size for p in files)
    for source in SOURCES:
        assert summary.rows[source] == len(read_all(root, source))
    # its own clock, inside the one around the call (the summary rounds to the millisecond)
    assert 0 < summary.seconds <= elapsed + 0.0005


def test_sources_match_the_raw_table_specs() -> None:
    assert set(SOURCES) == set(load_sources())
    for name, spec in load_sources().items():
        assert tuple(SCHEMAS[name].names) == spec.column_names


@pytest.mark.parametrize("source", ["product_events", "api_requests"])
def test_parquet_schema_is_exact(root: Path, source: str) -> None:
    files = sorted((root / source).rglob("*.parquet"))
    assert len(files) == DAYS * (2 if source == "product_events" else 1)
    for f in files:
        schema = pq.read_schema(f)
        assert schema.names == list(PARQUET_TYPES[source])
        for name, typ in PARQUET_TYPES[source].items():
            assert schema.field(name).type == typ, (f, name)
    events = read_all(root, "product_events")
    for col in ("app_version", "os", "locale"):
        assert 0 < events[col].isna().mean() < 0.2, col
    for col in ("event_id", "tenant_id", "user_id", "session_id", "event", "ts", "properties"):
        assert events[col].notna().all(), col


@pytest.mark.parametrize("source", sorted(EXPECTED_CSV_HEADERS))
def test_csv_header_and_value_formats(root: Path, source: str) -> None:
    for day in DAY_LIST:
        (f,) = part_dir(root, source, day).glob("*.csv")
        assert f.read_text().splitlines()[0] == EXPECTED_CSV_HEADERS[source]
    df = read_all(root, source)
    assert len(df) > 0
    if source == "tenants":
        assert df.created_at.str.match(ISO_TS).all()
        assert set(df.is_active) <= {"true", "false"} and "false" in set(df.is_active)
        assert set(df.plan) == {"free", "starter", "pro", "enterprise"}
    if source == "users":
        assert df.signup_at.str.match(ISO_TS).all()
        assert set(df.role) <= {"owner", "admin", "member", "viewer"}
        assert df.email_sha256.str.fullmatch(r"[0-9a-f]{64}").all()
        assert not df.drop(columns="_day").apply(lambda c: c.str.contains("@")).any().any()
    if source == "billing_line_items":
        assert (df.usage_date == df._day.map(dt.date.isoformat)).all()
        assert (df.currency == "USD").all()
        for col in ("quantity", "unit_price_usd", "amount_usd"):
            assert df[col].str.match(MONEY).all(), col
        six = Decimal("0.000001")
        for q, p, a in zip(df.quantity, df.unit_price_usd, df.amount_usd, strict=True):
            assert Decimal(a) == (Decimal(q) * Decimal(p)).quantize(six, ROUND_HALF_EVEN)
        assert df.line_item_id.is_unique
        assert {"api_calls", "seats"} <= set(df.metric)


def test_success_marker_for_every_partition_written_last(root: Path) -> None:
    for source in SOURCES:
        for day in DAY_LIST:
            d = part_dir(root, source, day)
            marker = d / "_SUCCESS"
            assert marker.is_file() and marker.stat().st_size == 0, d
            data = [p for p in d.iterdir() if p.name != "_SUCCESS"]
            assert data and all(p.suffix in {".parquet", ".csv"} for p in data)
            assert all(p.stat().st_mtime_ns <= marker.stat().st_mtime_ns for p in data)


def test_same_seed_same_bytes_other_seed_other_data(root: Path, tmp_path: Path) -> None:
    generate(str(tmp_path / "again"), START, DAYS, **KW)
    assert all_files(tmp_path / "again") == all_files(root)
    generate(f"file://{tmp_path / 'other'}", START, 1, **{**KW, "seed": 4})
    a = read_day(root, "product_events", START)
    b = read_day(tmp_path / "other", "product_events", START)
    assert len(a) != len(b) or not a.event_id.equals(b.event_id)


def test_a_shorter_run_is_a_prefix_of_a_longer_one(root: Path, tmp_path: Path) -> None:
    generate(str(tmp_path), START, 2, **KW)
    full = all_files(root)
    short = all_files(tmp_path)
    assert short and all(full[k] == v for k, v in short.items())


def test_timestamps_fall_inside_their_partition_day(root: Path) -> None:
    for source in ("product_events", "api_requests"):
        df = read_all(root, source)
        assert (df.ts.dt.date == df._day).all(), source


def test_duplicates_are_exact_and_ids_otherwise_unique(root: Path) -> None:
    for source, key, lo, hi in (
        ("product_events", "event_id", 0.002, 0.01),
        ("api_requests", "request_id", 0.0005, 0.005),
    ):
        df = read_all(root, source).drop(columns="_day")
        rate = df[key].duplicated().mean()
        assert lo < rate < hi, (source, rate)
        assert len(df.drop_duplicates()) == df[key].nunique()  # duplicates are whole rows
    # Some duplicates arrive in the other file of the same day.
    across = 0
    for day in DAY_LIST:
        p0, p1 = sorted(part_dir(root, "product_events", day).glob("*.parquet"))
        ids0 = set(pq.read_table(p0, columns=["event_id"])["event_id"].to_pylist())
        ids1 = set(pq.read_table(p1, columns=["event_id"])["event_id"].to_pylist())
        across += len(ids0 & ids1)
    assert across > 0


def test_events_reference_that_days_snapshots_and_start_with_signup(root: Path) -> None:
    events = read_all(root, "product_events").drop_duplicates("event_id")
    requests = read_all(root, "api_requests")
    for day in DAY_LIST:
        tenants = read_day(root, "tenants", day)
        users = read_day(root, "users", day).set_index("user_id")
        ev = events[events._day == day]
        assert set(ev.tenant_id) <= set(tenants.tenant_id)
        assert set(requests[requests._day == day].tenant_id) <= set(tenants.tenant_id)
        assert set(ev.user_id) <= set(users.index)
        assert (users.loc[ev.user_id, "tenant_id"].to_numpy() == ev.tenant_id.to_numpy()).all()
        inactive = set(tenants.tenant_id[tenants.is_active == "false"])
        assert not inactive & set(ev.tenant_id)
        created = pd.to_datetime(tenants.set_index("tenant_id").created_at)
        assert (ev.ts.to_numpy() >= created.loc[ev.tenant_id].to_numpy()).all()
    users = read_day(root, "users", DAY_LIST[-1]).set_index("user_id")
    signup_at = pd.to_datetime(users.signup_at)
    new = signup_at[signup_at >= pd.Timestamp(START, tz="UTC")]
    assert len(new) > 10
    first = events.sort_values("ts", kind="stable").groupby("user_id").first()
    firsts = first.loc[first.index.intersection(new.index)]
    assert len(firsts) == len(new)
    assert (firsts.event == "signup").all()
    assert (firsts.ts == new.loc[firsts.index]).all()
    # Tenants appear during the window too, and some steps happen days after sign-up.
    tenants = read_day(root, "tenants", DAY_LIST[-1])
    assert (pd.to_datetime(tenants.created_at) >= pd.Timestamp(START, tz="UTC")).any()
    assert {"onboarding_completed", "project_created", "feature_used", "logout"} <= set(
        events.event
    )


def test_volume_and_tenant_size_skew(root: Path) -> None:
    events = read_all(root, "product_events").drop_duplicates("event_id")
    per_day = events.groupby("_day").size()
    assert ((per_day > 0.7 * KW["events_per_day"]) & (per_day < 1.4 * KW["events_per_day"])).all()
    per_tenant = events.groupby("tenant_id").size().sort_values()
    assert per_tenant.iloc[-1] > 5 * per_tenant.median()
    requests = read_all(root, "api_requests").drop_duplicates("request_id")
    assert 1.5 < len(requests) / len(events) < 4
    assert set(requests.service) == {"search", "export", "auth", "billing", "ingest"}
    klass = (requests.status_code // 100).value_counts(normalize=True)
    assert klass[2] > 0.9 and 0 < klass[4] < 0.08 and 0 < klass[5] < 0.05
    p95 = requests.groupby("service").latency_ms.quantile(0.95)
    assert p95["export"] > 5 * p95["auth"]


def test_writes_to_s3(s3_env: object, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="landing")
    summary = generate("s3://landing/exports", START, 2, **{**KW, "tenants": 4})
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="landing"):
        keys += [o["Key"] for o in page.get("Contents", [])]
    assert len(keys) == summary.files + summary.partitions
    for source in SOURCES:
        for day in DAY_LIST[:2]:
            assert f"exports/{source}/dt={day.isoformat()}/_SUCCESS" in keys
    local = tmp_path / "local"
    generate(str(local), START, 2, **{**KW, "tenants": 4})
    for rel, data in all_files(local).items():
        assert s3.get_object(Bucket="landing", Key=f"exports/{rel}")["Body"].read() == data
    key = f"exports/api_requests/dt={START.isoformat()}/part-00000.parquet"
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket="landing", Key=key)["Body"].read()))
    assert table.num_rows > 0 and table.schema.field("ts").type == pa.timestamp("ms", tz="UTC")
