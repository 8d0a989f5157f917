"""Shared fixtures: a real S3 server on 127.0.0.1 (moto), temporary warehouses and landing
zones of generated exports, and the settings that point at them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from moto.server import ThreadedMotoServer
from support.samples import BUILT_DAYS, BUILT_START, BUILT_TENANTS, SAMPLE_DAYS, SAMPLE_START
from support.servers import S3Server, free_port
from support.warehouse_copies import built_once, copy_warehouse

from saas_warehouse.settings import Settings

# The longest tests (~40-120 s each, most of them Dagster runs) go first, so that the two
# workers start on them together and the ~400 quick tests even out their ends. xdist hands
# the first two to one worker and the next two to the other, then one test to whichever is
# free (`--dist load --maxschedchunk 1`, Makefile): the first worker builds built_warehouse
# and the second first_day_warehouse at once, and neither waits for the other's build.
# A test missing here only runs later; a name that no longer exists orders nothing.
LONGEST_FIRST = (
    "test_server_and_embedded_enforce_the_same_profile",
    "test_bi_views_match_the_oracle_when_days_load_in_chunks_and_out_of_order",
    "test_kill_9_mid_load_then_8_bi_clients_see_old_or_new_while_the_next_run_repairs",
    "test_a_run_through_serve_builds_what_an_in_process_run_builds",
    "test_bi_views_match_the_oracle_after_a_reexport_and_a_full_refresh_from_the_shell",
    "test_a_sixth_source_is_one_declaration_and_one_staging_model",
    "test_ci_builds_what_changed_and_fails_naming_a_broken_test",
    "test_dbt_failing_midway_keeps_raw_and_recovers",
    "test_ops_view_matches_the_markers_the_files_the_ledger_and_dagsters_run_records",
    "test_two_runs_for_the_same_day_take_turns",
    "test_dagster_ui_serves_the_asset_graph",
    "test_unreachable_s3_fails_with_a_clear_message",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on a shared built warehouse or the built one's exports are `slow` (not in
    `make test-fast`): building one is a full load + dbt run (once per session: the xdist
    workers share it, support/warehouse_copies.py). The longest go first, then the other
    slow ones, then the quick ones."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if {"built_warehouse", "built_landing", "first_day_warehouse"} & fixtures:
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None,
                                 rank.get(item.originalname, len(rank))))  # stable


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 endpoint on 127.0.0.1, spoken to over HTTP by boto3 and ClickHouse."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return s3_server


@pytest.fixture(scope="session")
def sample_landing_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated once per session; tests copy it before changing anything."""
    from sample_exports import generate

    root = tmp_path_factory.mktemp("landing_template")
    generate(str(root), SAMPLE_START, SAMPLE_DAYS, tenants=8, seed=11, events_per_day=1500,
             progress=False)
    return root


@pytest.fixture
def landing_dir(sample_landing_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(sample_landing_template, target)
    return target


@pytest.fixture
def settings_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings of a fresh warehouse in this test's tmp dir over a given landing zone."""
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)

    def make(landing: Path) -> Settings:
        return Settings(warehouse_url=f"chdb://{tmp_path / 'warehouse'}",
                        landing_url=str(landing), dagster_home=str(tmp_path / "dagster_home"))
    return make


@pytest.fixture
def settings(settings_for, landing_dir: Path) -> Settings:
    return settings_for(landing_dir)


@pytest.fixture(scope="module")
def loading_area(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """An embedded warehouse with its databases and an empty landing directory, for the
    tests of one module that load hand-built partitions with `load_partition`."""
    from saas_warehouse.warehouse import ensure_databases, open_warehouse

    root = tmp_path_factory.mktemp("loading_area")
    with open_warehouse(f"chdb://{root / 'wh'}") as client:
        ensure_databases(client)
        yield client, root / "landing"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """An in-memory Dagster instance: a run's ~700 events stored in a sqlite file cost ~8 s."""
    with dg.DagsterInstance.ephemeral() as test_instance:
        yield test_instance


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory that every xdist worker of this test session shares."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def _build_range(warehouse_dir: Path, landing: Path, start: dt.date, days: int) -> None:
    from orchestration.runner import run_range

    settings = Settings(warehouse_url=f"chdb://{warehouse_dir / 'warehouse'}",
                        landing_url=str(landing), dagster_home=str(warehouse_dir / "home"))
    with dg.DagsterInstance.ephemeral() as test_instance:
        run_range(settings, start, start + dt.timedelta(days=days - 1), instance=test_instance)


@pytest.fixture(scope="session")
def built_landing(shared_tmp: Path) -> Path:
    """The generated exports of the built warehouse (read-only), one set for all workers."""
    from sample_exports import generate

    return built_once(shared_tmp, "built_landing", lambda root: generate(
        str(root), BUILT_START, BUILT_DAYS, tenants=BUILT_TENANTS, seed=11,
        events_per_day=1500, progress=False))


@pytest.fixture(scope="session")
def built_warehouse(
    shared_tmp: Path, tmp_path_factory: pytest.TempPathFactory, built_landing: Path
) -> Settings:
    """`built_landing` loaded and built end to end (raw → bi) by one range run, once per
    session; each worker reads its own copy. Read-only."""
    shared = built_once(shared_tmp, "built_warehouse", lambda root: _build_range(
        root, built_landing, BUILT_START, BUILT_DAYS))
    source = Settings(f"chdb://{shared / 'warehouse'}", str(built_landing), "")
    return copy_warehouse(source, tmp_path_factory.mktemp("built"), landing=False)


@pytest.fixture
def built_warehouse_copy(
    built_warehouse: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    return copy_warehouse(built_warehouse, tmp_path)


@pytest.fixture(scope="session")
def first_day_warehouse(
    shared_tmp: Path, tmp_path_factory: pytest.TempPathFactory, sample_landing_template: Path
) -> Settings:
    """The sample exports' first day loaded and built end to end (raw → bi) by one in-process
    run, once per session: the reference "clean run" of the tests that build that day another
    way, and a start for those that need a built day. Read-only: tests take `copy_warehouse`.
    (Every worker generates the same sample exports; the warehouse keeps no path of them.)"""
    shared = built_once(shared_tmp, "first_day", lambda root: _build_range(
        root, sample_landing_template, SAMPLE_START, 1))
    source = Settings(f"chdb://{shared / 'warehouse'}", str(sample_landing_template), "")
    return copy_warehouse(source, tmp_path_factory.mktemp("first_day"), landing=False)
