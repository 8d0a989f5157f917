"""Tenants of very different sizes: a few whales and a long tail, plans that follow size.

Most tenants exist before the window, a few are created during it and a few go dormant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from saas_warehouse.contract import plans

from .common import (
    ID_USER,
    MS_PER_DAY,
    MS_PER_HOUR,
    STREAM_TENANTS,
    STREAM_WORLD,
    day_start_ms,
    iso_ms,
    make_ids,
)
from .draws import hourly_cdfs, rng_for

REGIONS = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
]
REGION_P = np.array([0.34, 0.16, 0.2, 0.14, 0.09, 0.07])
REGION_UTC_OFFSET = np.array([-5, -8, 0, 1, 8, 9])
IN_WINDOW_HORIZON_DAYS = 45  # tenants created during the window are spread over this
WEEKEND_FACTOR = 0.55

_ADJ = ["Blue", "Bright", "Cedar", "Clear", "Copper", "Delta", "Echo", "Granite", "Harbor",
        "Iron", "Juniper", "Lumen", "Maple", "North", "Nova", "Orbit", "Pine", "Quartz",
        "Red", "Silver", "Summit", "Tidal", "Vertex", "Willow"]  # fmt: skip
_NOUN = ["Analytics", "Bank", "Cloud", "Commerce", "Dynamics", "Foods", "Freight", "Health",
         "Insights", "Labs", "Logistics", "Media", "Motors", "Networks", "Partners", "Retail",
         "Robotics", "Studios", "Systems", "Travel"]  # fmt: skip
_SUFFIX = ["Inc", "GmbH", "Ltd", "Co", "Group", "SAS", "KK", "LLC"]


def weekday_factor(day: dt.date) -> float:
    """B2B software is quieter at weekends."""
    return WEEKEND_FACTOR if day.weekday() >= 5 else 1.0


@dataclass
class Tenants:
    """All tenants that will ever exist in the window (column arrays, index = tenant)."""

    ids: list[str]
    names: list[str]
    weight: np.ndarray  # share of the user base: Zipf-like, a few whales and a long tail
    plan: np.ndarray  # index into plans(), may rise during the window
    region: np.ndarray  # index into REGIONS
    created_ms: np.ndarray
    inactive_from: np.ndarray  # ordinal of the first day with is_active = false (or huge)
    intensity: np.ndarray  # how heavily its users use the product
    hour_cdf: np.ndarray  # (n, 24) UTC hour-of-day CDF for its region

    def __len__(self) -> int:
        return len(self.ids)

    def exists(self, day: dt.date) -> np.ndarray:
        return self.created_ms < day_start_ms(day) + MS_PER_DAY

    def active(self, day: dt.date) -> np.ndarray:
        return self.exists(day) & (self.inactive_from > day.toordinal())

    def snapshot(self, day: dt.date) -> pa.Table:
        """The tenants export of `day`: every tenant created by the end of it."""
        idx = np.flatnonzero(self.exists(day))
        return pa.table(
            {
                "tenant_id": [self.ids[i] for i in idx],
                "tenant_name": [self.names[i] for i in idx],
                "plan": [plans()[self.plan[i]] for i in idx],
                "region": [REGIONS[self.region[i]] for i in idx],
                "created_at": iso_ms(self.created_ms[idx]),
                "is_active": pa.array(self.inactive_from[idx] > day.toordinal()),
            }
        )


def make_tenants(n: int, start: dt.date, seed: int) -> Tenants:
    """Tenants ranked by size: size drives plan, and only small/mid ones appear mid-window."""
    rng = rng_for(seed, None, STREAM_WORLD)
    rank = np.arange(1, n + 1)
    weight = rank**-1.15 * rng.lognormal(0.0, 0.25, n)
    weight /= weight.sum()
    order = np.argsort(-(np.log(weight) + rng.normal(0.0, 0.5, n)), kind="stable")
    plan = np.empty(n, dtype=np.int64)
    cuts = np.ceil(np.array([0.12, 0.40, 0.70]) * n).astype(int)
    plan[order] = np.searchsorted(cuts, np.arange(n), side="right")
    plan = 3 - plan  # best score -> enterprise
    region = rng.choice(len(REGIONS), n, p=REGION_P)
    start_ms = day_start_ms(start)
    created_ms = start_ms - rng.integers(30, 1200, n) * MS_PER_DAY + rng.integers(0, MS_PER_DAY, n)
    inactive_from = np.full(n, 10**9, dtype=np.int64)
    tail = np.arange(3, n)  # whales are long-established and active
    if len(tail):
        k_new = max(1, round(0.15 * n)) if n >= 5 else 0
        new = rng.choice(tail, min(k_new, len(tail)), replace=False)
        offsets = rng.integers(0, IN_WINDOW_HORIZON_DAYS, len(new))
        if len(offsets):
            offsets[0] = min(offsets[0], 1)  # one arrives early, so short windows see one too
        # Created during a working day, early enough to do something that day.
        created_ms[new] = (
            start_ms + offsets * MS_PER_DAY + rng.integers(6, 18, len(new)) * MS_PER_HOUR
        )
        rest = np.setdiff1d(tail, new)
        if n >= 10 and len(rest):
            dormant = rng.choice(rest, max(1, round(0.06 * n)), replace=False)
            inactive_from[dormant] = start.toordinal() - 1
            rest = np.setdiff1d(rest, dormant)
        if n >= 20 and len(rest):
            inactive_from[rng.choice(rest)] = start.toordinal() + int(rng.integers(5, 40))
    combos = rng.choice(len(_ADJ) * len(_NOUN), n, replace=n > len(_ADJ) * len(_NOUN))
    names = [
        f"{_ADJ[c // len(_NOUN)]} {_NOUN[c % len(_NOUN)]} {_SUFFIX[i % len(_SUFFIX)]}"
        + ("" if i < len(_ADJ) * len(_NOUN) else f" {i}")
        for i, c in enumerate(combos)
    ]
    ids = make_ids("tnt_", ID_USER, 1, np.arange(n), seed).to_pylist()
    return Tenants(
        ids=[i[:12] for i in ids],  # tnt_ + 8 hex is plenty for a few thousand tenants
        names=names,
        weight=weight,
        plan=plan,
        region=region,
        created_ms=created_ms,
        inactive_from=inactive_from,
        intensity=rng.lognormal(0.0, 0.2, n) * (1.0 + 0.1 * plan),
        hour_cdf=hourly_cdfs(REGION_UTC_OFFSET[region]),
    )


def upgrade_plans(tenants: Tenants, day: dt.date, seed: int) -> None:
    """A few tenants move up a plan now and then; the snapshot shows it from that day."""
    rng = rng_for(seed, day, STREAM_TENANTS)
    move = (rng.random(len(tenants)) < 0.004) & tenants.active(day) & (tenants.plan < 3)
    tenants.plan[move] += 1
