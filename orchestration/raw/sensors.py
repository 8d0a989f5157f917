"""A sensor that asks for a run when a partition's export completes (its `_SUCCESS` appears)
or is re-exported (its `_SUCCESS` changes). It lists the landing zone only: it never opens
the warehouse (the embedded engine allows one process at a time)."""

import datetime as dt
import hashlib
import json

import dagster as dg

from ingest_loaders.landing import Landing
from orchestration.partitions import daily_partitions
from orchestration.raw.assets import raw_key
from orchestration.resources import LandingResource
from saas_warehouse.sources import load_sources

Cursor = dict[str, dict[str, str]]  # source → day → fingerprint of its _SUCCESS marker


def new_complete_partitions(
    landing: Landing, cursor: Cursor, first_day: dt.date, last_day: dt.date
) -> tuple[dict[str, list[str]], Cursor]:
    """Days with newly complete (or re-exported) partitions → their sources; the next cursor."""
    by_day: dict[str, list[str]] = {}
    next_cursor: Cursor = {}
    for source in load_sources():
        seen = cursor.get(source, {})
        complete = {
            day.isoformat(): marker
            for day, marker in landing.complete_days(source).items()
            if first_day <= day <= last_day
        }
        for day, marker in sorted(complete.items()):
            if seen.get(day) != marker:
                by_day.setdefault(day, []).append(source)
        next_cursor[source] = complete
    return by_day, next_cursor


@dg.sensor(
    name="new_exports_sensor",
    description="Loads each (source, day) as soon as its _SUCCESS marker lands or changes.",
    minimum_interval_seconds=60,
    asset_selection=dg.AssetSelection.groups("raw").downstream(),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def new_exports_sensor(
    context: dg.SensorEvaluationContext, landing: LandingResource
) -> dg.SensorResult:
    cursor: Cursor = json.loads(context.cursor) if context.cursor else {}
    keys = daily_partitions.get_partition_keys(dynamic_partitions_store=None)
    if not keys:
        return dg.SensorResult(skip_reason="no daily partition exists yet")
    first, last = dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
    by_day, next_cursor = new_complete_partitions(landing.landing(), cursor, first, last)
    assert context.repository_def is not None  # sensors always run inside their definitions
    graph = context.repository_def.asset_graph
    requests = [
        dg.RunRequest(
            run_key=f"{day}:{','.join(sources)}:{_marker_digest(next_cursor, sources, day)}",
            partition_key=day,
            # The new days' loads and everything built from them (not the bookkeeping tables
            # the loads write as they go, which no run materializes).
            asset_selection=sorted(
                dg.AssetSelection.assets(*(raw_key(s) for s in sources))
                .downstream().materializable().resolve(graph)
            ),
            tags={"saas_warehouse/trigger": "new_exports"},
        )
        for day, sources in sorted(by_day.items())
    ]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(next_cursor, sort_keys=True))


def _marker_digest(cursor: Cursor, sources: list[str], day: str) -> str:
    markers = "|".join(cursor[s][day] for s in sources)
    return hashlib.sha1(markers.encode()).hexdigest()[:12]
