"""Freshness in Dagster: each raw asset carries its declaration's policy (sources/*.yml), the bi
views one derived from the daily schedule; an export that stops arriving shows late, then
missing, as `dagster dev`'s freshness daemon computes it for the UI (one real iteration of that
daemon over the project's code location, at times after the last load)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState
from support.freshness import freshness_at
from support.samples import SAMPLE_START

from orchestration.definitions import build_definitions
from orchestration.partitions import BUILD_HOURS, SCHEDULE_HOUR_UTC
from orchestration.runner import run_range
from saas_warehouse.settings import Settings
from saas_warehouse.sources import load_sources

HOUR = 3600.0


def test_every_raw_asset_has_its_declared_freshness_and_bi_the_schedules() -> None:
    graph = build_definitions(Settings("chdb:///nonexistent", "/tmp", "/tmp")).resolve_asset_graph()
    for source in load_sources().values():
        policy = graph.get(dg.AssetKey(["raw", source.name])).freshness_policy
        assert policy == dg.FreshnessPolicy.time_window(
            fail_window=dt.timedelta(hours=source.freshness.error_after_hours),
            warn_window=dt.timedelta(hours=source.freshness.warn_after_hours)), source.name
    bi = [key for key in graph.get_all_asset_keys() if key.path[0] == "bi"]
    assert len(bi) >= 9
    for key in bi:  # built by the 02:00 run, late by 06:00
        policy = graph.get(key).freshness_policy
        assert policy.deadline_cron == f"0 {SCHEDULE_HOUR_UTC + BUILD_HOURS} * * *", key
    assert all(graph.get(k).freshness_policy is None for k in graph.get_all_asset_keys()
               if k.path[0] in ("staging", "analytics"))


@pytest.mark.slow
def test_an_export_that_stops_arriving_shows_late_then_missing(
    settings: Settings, landing_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("WAREHOUSE_URL", settings.warehouse_url),
                        ("LANDING_URL", settings.landing_url)):
        monkeypatch.setenv(name, value)  # what the code location reads, as under `dagster dev`
    users = load_sources()["users"]
    key = dg.AssetKey(["raw", users.name])
    with dg.instance_for_test() as instance:  # on disk, as the daemon needs
        assert freshness_at(instance, time.time(), [key]) == {key: FreshnessState.UNKNOWN}
        run_range(settings, SAMPLE_START, SAMPLE_START, instance=instance,
                  selection=dg.AssetSelection.keys(key))
        loaded = time.time()  # and then no export arrives any more
        warn, error = users.freshness.warn_after_hours, users.freshness.error_after_hours
        assert freshness_at(instance, loaded + HOUR, [key])[key] == FreshnessState.PASS
        assert freshness_at(instance, loaded + (warn + 1) * HOUR, [key])[key] == \
            FreshnessState.WARN
        assert freshness_at(instance, loaded + (error + 1) * HOUR, [key])[key] == \
            FreshnessState.FAIL
