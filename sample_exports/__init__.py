"""Realistic sample exports (docs/contract.md §3).

`generate()` simulates a multi-tenant SaaS product day by day from `start` and writes each
day's partitions of product_events, api_requests, billing_line_items, tenants and users to
the landing zone. The output depends only on (start, days, tenants, seed, events_per_day),
and a shorter run is a prefix of a longer one with the same arguments.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from .api import build_requests
from .billing import build_line_items
from .common import STREAM_WORLD
from .draws import rng_for
from .events import build_events
from .model import base_users_for, initial_users, sign_up
from .tenants import make_tenants, upgrade_plans
from .writers import PartitionWriter, open_sink, with_duplicates

__all__ = ["SOURCES", "GenerateSummary", "generate"]

SOURCES = ("product_events", "api_requests", "billing_line_items", "tenants", "users")
EVENT_DUP_RATE = 0.005
REQUEST_DUP_RATE = 0.002


def _count_by_tenant(tenant_ids: list[str], table: pa.Table) -> np.ndarray:
    codes = pc.index_in(table["tenant_id"], pa.array(tenant_ids)).to_numpy()
    return np.bincount(codes, minlength=len(tenant_ids))


@dataclass(frozen=True)
class GenerateSummary:
    """What one `generate()` call wrote."""

    landing: str
    start: dt.date
    days: int
    files: int  # data files, not counting the _SUCCESS markers
    partitions: int  # (source, day) pairs, each closed by a _SUCCESS marker
    rows: dict[str, int] = field(default_factory=dict)  # rows written, duplicates included
    bytes: int = 0
    seconds: float = 0.0


def generate(
    landing_url: str,
    start: dt.date,
    days: int,
    *,
    tenants: int = 40,
    seed: int = 7,
    events_per_day: int = 20_000,
    progress: bool = True,
) -> GenerateSummary:
    """Writes `days` days of exports from `start` into `landing_url` (s3://, file:// or a dir).

    `events_per_day` is the approximate number of product events on a weekday across all
    tenants; API requests run at roughly 2-3 per event. Buckets are never created.
    """
    if days < 0 or tenants < 1 or events_per_day < 1:
        raise ValueError("days must be >= 0, tenants and events_per_day >= 1")
    began = time.perf_counter()
    world = make_tenants(tenants, start, seed)
    base_users = base_users_for(world, start, events_per_day)
    users = initial_users(world, start, seed, base_users)
    writer = PartitionWriter(open_sink(landing_url))
    rows = dict.fromkeys(SOURCES, 0)
    try:
        for i in tqdm(range(days), desc="generate", unit="day", file=sys.stderr,
                      disable=not progress):  # fmt: skip
            day = start + dt.timedelta(days=i)
            upgrade_plans(world, day, seed)
            users, new_from = sign_up(world, users, day, seed, base_users)
            events = build_events(world, users, day, new_from, seed)
            per_tenant = _count_by_tenant(world.ids, events)
            requests = build_requests(world, per_tenant, day, seed)
            items = build_line_items(world, users, requests, day)
            rng = rng_for(seed, day, STREAM_WORLD)
            ev_parts = with_duplicates(events, rng, EVENT_DUP_RATE, parts=2)
            rq_parts = with_duplicates(requests, rng, REQUEST_DUP_RATE, parts=1)
            batches = {
                "product_events": [(f"part-{k:05d}.parquet", t) for k, t in enumerate(ev_parts)],
                "api_requests": [("part-00000.parquet", rq_parts[0])],
                "billing_line_items": [("line_items.csv", items)],
                "tenants": [("tenants.csv", world.snapshot(day))],
                "users": [("users.csv", pa.concat_tables(users.tables))],
            }
            for source, files in batches.items():
                writer.submit(source, day, files)
                rows[source] += sum(t.num_rows for _, t in files)
    finally:
        writer.close()
    return GenerateSummary(
        landing=writer.sink.describe(),
        start=start,
        days=days,
        files=writer.files,
        partitions=writer.partitions,
        rows=rows,
        bytes=writer.bytes,
        seconds=round(time.perf_counter() - began, 3),
    )
