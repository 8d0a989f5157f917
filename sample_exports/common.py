"""Shared pieces of the generator: export schemas, the RNG stream and id spaces, ids and
times as text (the random draws are in draws.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")
MS_PER_DAY = 86_400_000
MS_PER_HOUR = 3_600_000
MS_PER_MIN = 60_000

# docs/contract.md §3, column for column, in order. CSV sources carry everything as text.
_ARROW_TYPES = {
    "string": pa.string(), "int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(),
    "bool": pa.bool_(), "date": pa.date32(), "ts": TS,
}


def _schema(columns: str) -> pa.Schema:
    """`"name type, …"` (a type of _ARROW_TYPES) → the Arrow schema, fields in that order."""
    return pa.schema([(name, _ARROW_TYPES[kind])
                      for name, kind in (c.split() for c in columns.split(","))])


SCHEMAS: dict[str, pa.Schema] = {
    "product_events": _schema(
        "event_id string, tenant_id string, user_id string, session_id string, event string,"
        "ts ts, properties string, app_version string, os string, locale string,"
        "event_version int32"
    ),
    "api_requests": _schema(
        "request_id string, tenant_id string, service string, endpoint string, method string,"
        "status_code int32, latency_ms float64, request_bytes int64, response_bytes int64,"
        "ts ts"
    ),
    "billing_line_items": _schema(
        "line_item_id string, tenant_id string, usage_date date, service string, metric string,"
        "quantity string, unit_price_usd string, amount_usd string, currency string"
    ),
    "tenants": _schema(
        "tenant_id string, tenant_name string, plan string, region string, created_at string,"
        "is_active bool"
    ),
    "users": _schema(
        "user_id string, tenant_id string, role string, signup_at string, email_sha256 string"
    ),
}

# Streams of randomness, one RNG per (seed, day, stream): days stay reproducible on their own.
STREAM_WORLD, STREAM_SIGNUPS, STREAM_EVENTS, STREAM_API, STREAM_TENANTS, STREAM_OUTAGES = range(6)

# Id spaces, kept apart in the high bits so ids never collide across kinds.
ID_EVENT, ID_SESSION, ID_REQUEST, ID_LINE_ITEM, ID_USER = range(1, 6)


def day_start_ms(day: dt.date) -> int:
    """Epoch milliseconds of the UTC midnight that opens `day`."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection on uint64, so distinct inputs stay distinct."""
    z = x.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _hex64(v: np.ndarray) -> np.ndarray:
    """The low 32 bits of each value as 8 ASCII hex digits packed in a uint64 (SWAR)."""
    u = np.uint64
    v = v & u(0xFFFFFFFF)
    v = (v | (v << u(16))) & u(0x0000FFFF0000FFFF)
    v = (v | (v << u(8))) & u(0x00FF00FF00FF00FF)
    v = (v | (v << u(4))) & u(0x0F0F0F0F0F0F0F0F)  # one nibble per byte
    letters = ((v + u(0x0606060606060606)) >> u(4)) & u(0x0101010101010101)
    return v + u(0x3030303030303030) + letters * u(ord("a") - ord("0") - 10)


def make_ids(prefix: str, kind: int, day_ordinal: int, seq: np.ndarray, seed: int) -> pa.Array:
    """Unique, random-looking ids `<prefix><16 hex>` for (kind, day, seq), without Python loops.

    (kind, day, seq) packs into 64 bits and goes through a bijection, so ids are unique by
    construction; the seed is xor-ed in so different seeds give different ids.
    """
    seq = np.asarray(seq, dtype=np.uint64)
    packed = (
        (np.uint64(kind) << np.uint64(56))
        | (np.uint64(day_ordinal & 0xFFFFFF) << np.uint64(32))
        | (seq & np.uint64(0xFFFFFFFF))
    )
    salt = np.uint64((seed * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF)
    words = _mix64(packed) ^ salt
    pre = prefix.encode("ascii")
    fields = [(f"p{i}", "u1") for i in range(len(pre))] + [("hi", ">u8"), ("lo", ">u8")]
    rec = np.empty(len(seq), dtype=fields)
    for i, b in enumerate(pre):
        rec[f"p{i}"] = b
    rec["hi"] = _hex64(words >> np.uint64(32))
    rec["lo"] = _hex64(words)
    return fixed_width_strings(rec.view(np.uint8).reshape(len(seq), len(pre) + 16))


def fixed_width_strings(chars: np.ndarray) -> pa.Array:
    """An Arrow string array over an (n, width) uint8 matrix of ASCII, without a copy per row."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    data = np.ascontiguousarray(chars)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _digits(out: np.ndarray, col: int, values: np.ndarray, width: int) -> None:
    for k in range(width):
        out[:, col + width - 1 - k] = 48 + (values // 10**k) % 10


def iso_ms(ms: np.ndarray) -> pa.Array:
    """ISO-8601 UTC strings with milliseconds and a Z, e.g. 2026-01-05T13:45:12.345Z.

    Vectorized civil-from-days (H. Hinnant's algorithm): Arrow's and numpy's formatters cost
    seconds on the user snapshots of a large run.
    """
    ms = np.asarray(ms, dtype=np.int64)
    days, rem = np.divmod(ms, MS_PER_DAY)
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    out = np.empty((len(ms), 24), dtype=np.uint8)
    for col, ch in ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")):
        out[:, col] = ord(ch)
    for col, values, width in (
        (0, year, 4), (5, month, 2), (8, day, 2), (11, rem // MS_PER_HOUR, 2),
        (14, rem // MS_PER_MIN % 60, 2), (17, rem // 1000 % 60, 2), (20, rem % 1000, 3),
    ):  # fmt: skip
        _digits(out, col, values, width)
    return fixed_width_strings(out)
