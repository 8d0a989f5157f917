"""The generator's random draws: one RNG per (seed, day, stream), categorical draws, and
the hour-of-day rhythm of business software."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .common import MS_PER_DAY, MS_PER_HOUR


def rng_for(seed: int, day: dt.date | None, stream: int) -> np.random.Generator:
    """An independent generator per (seed, day, stream), so nothing depends on call order."""
    ordinal = 0 if day is None else day.toordinal()
    return np.random.default_rng([seed, ordinal, stream])


def take(vocab: list[str], idx: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """Strings from a small vocabulary by index (nulls where `null_mask`), in one Arrow call."""
    indices = pa.array(np.asarray(idx, dtype=np.int32), mask=null_mask)
    return pc.take(pa.array(vocab, type=pa.string()), indices)


def sample_cdf(u: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """Categorical draws from uniforms `u`: cdf is (k,) shared or (n, k) per row."""
    if cdf.ndim == 1:
        return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)
    return np.minimum((u[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)


# Local-time hour-of-day weights of business software: quiet nights, a busy working day.
_LOCAL_HOURS = np.array(
    [0.08, 0.05, 0.04, 0.04, 0.05, 0.1, 0.3, 0.7, 1.2, 1.6, 1.8, 1.75,
     1.5, 1.65, 1.75, 1.7, 1.5, 1.2, 0.8, 0.6, 0.45, 0.35, 0.22, 0.13]
)  # fmt: skip


def hourly_cdfs(utc_offsets: np.ndarray) -> np.ndarray:
    """Per-offset CDF over UTC hours: the local business-day rhythm shifted to UTC."""
    out = np.empty((len(utc_offsets), 24))
    for i, off in enumerate(utc_offsets):
        w = np.roll(_LOCAL_HOURS, -int(off))  # UTC hour h is local hour h + off
        out[i] = np.cumsum(w) / w.sum()
    return out


def rhythm_ms(
    rng: np.random.Generator, cdfs: np.ndarray, group: np.ndarray, lo_ms: np.ndarray, day0: int
) -> np.ndarray:
    """Timestamps in the day following each row's hourly rhythm, never before `lo_ms`.

    Rows whose draw falls before their lower bound (a tenant or user that did not exist yet)
    are redrawn uniformly in [lo, end of day).
    """
    n = len(group)
    hour = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    # Each group's rows at once, found by sorting (not by a mask over all rows per group:
    # that is rows x groups, minutes a day at 10,000 tenants).
    order = np.argsort(group, kind="stable")
    ordered = group[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])[:n]
    for start, end in pairwise([*starts, n]):
        rows = order[start:end]
        hour[rows] = sample_cdf(u[rows], cdfs[ordered[start]])
    ts = day0 + hour * MS_PER_HOUR + rng.integers(0, MS_PER_HOUR, n)
    late = ts < lo_ms
    if late.any():
        span = np.maximum(day0 + MS_PER_DAY - lo_ms[late], 1)
        ts[late] = lo_ms[late] + (rng.random(late.sum()) * span).astype(np.int64)
    return np.minimum(ts, day0 + MS_PER_DAY - 1)
