"""How dbt appears in Dagster: the `dbt build` arguments of a run, the asset graph the
translator derives from the real manifest, and a real run of an unpartitioned model alone."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg
import pytest
from support.landing_frames import read_partition
from support.samples import SAMPLE_START
from support.warehouse_copies import copy_warehouse
from support.warehouse_reads import query

from orchestration.definitions import build_definitions
from orchestration.transform.assets import (
    dbt_build_args,
    dbt_environment,
    dbt_run_vars,
    prune_run_targets,
)
from orchestration.transform.project import dbt_project
from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse

DAY = dt.date(2026, 3, 1)


def test_the_window_reaches_dbt_in_its_environment() -> None:
    assert dbt_run_vars((DAY, DAY + dt.timedelta(days=2))) == {
        "SAAS_WAREHOUSE_START_DATE": "2026-03-01", "SAAS_WAREHOUSE_END_DATE": "2026-03-03"}
    assert dbt_run_vars((DAY, DAY), batch_days=0)["SAAS_WAREHOUSE_BATCH_DAYS"] == "0"
    assert dbt_run_vars(None) == {}


def test_build_args_leave_unit_tests_to_ci() -> None:
    args = dbt_build_args()
    assert args[0] == "build" and "--full-refresh" not in args and "--vars" not in args
    assert args[args.index("--exclude-resource-type") + 1] == "unit_test"
    assert dbt_build_args(full_refresh=True)[-1] == "--full-refresh"


def test_only_the_newest_run_targets_are_kept(tmp_path: Path) -> None:
    runs = [tmp_path / f"dbt_models-run{i}-abc" for i in range(5)]
    for age, run in enumerate(runs):  # runs[0] is the newest
        (run / "compiled").mkdir(parents=True)
        os.utime(run, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "manifest.json").write_text("{}")  # the project's own artifacts stay
    (tmp_path / "other-op-run").mkdir()
    prune_run_targets(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dbt_models-run0-abc", "dbt_models-run1-abc", "manifest.json", "other-op-run",
    ]


@pytest.mark.parametrize("before", [None, "chdb:///somewhere/else"])
def test_dbt_gets_the_url_and_window_in_its_environment_only_while_it_starts(
    monkeypatch: pytest.MonkeyPatch, before: str | None
) -> None:
    """The warehouse resource's URL reaches dbt through WAREHOUSE_URL (never the command line:
    it may hold a password), the window through its variables; a window set in the shell does
    not leak into a run without one; the process's own settings are back once dbt started."""
    if before is None:
        monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    else:
        monkeypatch.setenv("WAREHOUSE_URL", before)
    monkeypatch.setenv("SAAS_WAREHOUSE_END_DATE", "2020-01-01")
    monkeypatch.setenv("SAAS_WAREHOUSE_TENANT_LIMITS", "limits.toml")
    url = "https://analyst:s3cret@ch.example.com:8443"
    with dbt_environment({"WAREHOUSE_URL": url, **dbt_run_vars(None, batch_days=3)}):
        assert os.environ["WAREHOUSE_URL"] == url
        assert os.environ["SAAS_WAREHOUSE_BATCH_DAYS"] == "3"
        assert "SAAS_WAREHOUSE_END_DATE" not in os.environ
        assert os.environ["SAAS_WAREHOUSE_TENANT_LIMITS"] == "limits.toml"
    assert os.environ.get("WAREHOUSE_URL") == before
    assert os.environ["SAAS_WAREHOUSE_END_DATE"] == "2020-01-01"
    assert "SAAS_WAREHOUSE_BATCH_DAYS" not in os.environ
    assert "s3cret" not in " ".join(dbt_build_args(full_refresh=True))


@pytest.fixture(scope="module")
def asset_graph(tmp_path_factory: pytest.TempPathFactory) -> dict[dg.AssetKey, dg.AssetSpec]:
    root = tmp_path_factory.mktemp("defs")
    settings = Settings(warehouse_url=f"chdb://{root / 'w'}", landing_url=str(root / "landing"),
                        dagster_home=str(root / "home"))
    defs = build_definitions(settings)
    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


def test_every_dbt_asset_is_keyed_by_its_database(asset_graph) -> None:
    layers = {key.path[0] for key in asset_graph}
    assert layers == {"landing", "raw", "staging", "analytics", "bi"}
    for key, spec in asset_graph.items():
        if key.path[0] in ("staging", "analytics", "bi"):
            assert spec.group_name in (key.path[0], "seeds"), (key, spec.group_name)
    assert dg.AssetKey(["staging", "stg_product__events"]) in asset_graph
    assert asset_graph[dg.AssetKey(["analytics", "funnel_definitions"])].group_name == "seeds"


def test_lineage_runs_from_landing_to_the_bi_views(asset_graph) -> None:
    def upstream(key: dg.AssetKey) -> set[dg.AssetKey]:
        return {dep.asset_key for dep in asset_graph[key].deps}

    # Each staging view reads the raw table its loader fills, which reads its landing files.
    assert upstream(dg.AssetKey(["staging", "stg_product__events"])) == {
        dg.AssetKey(["raw", "product_events"])
    }
    assert dg.AssetKey(["landing", "product_events"]) in upstream(
        dg.AssetKey(["raw", "product_events"])
    )
    # The graph runs one way: nothing depends on a layer above its own.
    order = {"landing": 0, "raw": 1, "staging": 2, "analytics": 3, "bi": 4}
    for key in asset_graph:
        for dep in upstream(key):
            assert order[dep.path[0]] <= order[key.path[0]], (dep, key)
    # The KPI view reaches back to the API and billing raw tables too.
    seen, todo = set(), [dg.AssetKey(["bi", "kpi_tenant_daily"])]
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo.extend(upstream(key))
    assert {dg.AssetKey(["raw", s]) for s in ("product_events", "api_requests",
                                              "billing_line_items", "tenants")} <= seen


def test_only_the_daily_models_are_partitioned_by_day(asset_graph) -> None:
    """The incremental (tag `daily`) models rebuild a run's days and are day-partitioned like
    the loads; views, tables rebuilt whole and seeds are one asset each, not 30 partitions
    of it on a 30-day run."""
    daily = {key.path[-1] for key, spec in asset_graph.items()
             if key.path[0] in ("staging", "analytics", "bi") and spec.partitions_def is not None}
    nodes = json.loads(dbt_project().manifest_path.read_text())["nodes"].values()
    models = {n["name"]: n for n in nodes if n["resource_type"] == "model"}
    tagged = {name for name, n in models.items() if "daily" in n["tags"]}
    incremental = {name for name, n in models.items()
                   if n["config"]["materialized"] == "incremental"}
    assert daily == tagged == incremental and len(daily) >= 5
    days = asset_graph[dg.AssetKey(["raw", "product_events"])].partitions_def
    assert asset_graph[dg.AssetKey(["analytics", "fct_user_activity_daily"])].partitions_def == days


@pytest.mark.slow  # real dbt/Dagster runs: not in `make test-fast`
def test_an_unpartitioned_model_materializes_without_a_day(
    first_day_warehouse: Settings, instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """After a day's run (a copy of conftest.first_day_warehouse), a dimension and the alerts
    view rebuilt alone (as the UI's Materialize button does): `dbt build` with no window, one
    unpartitioned materialization each, and the alerts check looks at every day. dbt builds
    where the warehouse resource points, whatever WAREHOUSE_URL says in this process."""
    settings = copy_warehouse(first_day_warehouse, tmp_path)
    with open_warehouse(settings.warehouse_url) as client:  # the rebuild must fill it again
        client.command("TRUNCATE TABLE analytics.dim_tenants")
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("WAREHOUSE_URL", f"chdb://{elsewhere}")
    keys = {dg.AssetKey(["analytics", "dim_tenants"]), dg.AssetKey(["bi", "kpi_alerts"])}
    job = build_definitions(settings).resolve_job_def("daily_warehouse")
    result = job.get_subset(asset_selection=keys).execute_in_process(instance=instance)
    assert result.success
    materialized = [e.materialization for e in result.get_asset_materialization_events()]
    assert sorted((m.asset_key.path, m.partition) for m in materialized) == [
        (["analytics", "dim_tenants"], None), (["bi", "kpi_alerts"], None)
    ]
    alerts = next(e.event_specific_data for e in result.all_events
                  if e.event_type_value == "ASSET_CHECK_EVALUATION"
                  and e.event_specific_data.check_name == "no_kpi_alerts")
    assert alerts.metadata["days"].value == "every day"
    tenants = read_partition(Path(settings.landing_url), "tenants", SAMPLE_START)
    assert query(settings.warehouse_url, "SELECT count() FROM analytics.dim_tenants") == [
        (tenants["tenant_id"].nunique(),)
    ]
    assert not elsewhere.exists()


def test_every_dbt_asset_shows_its_columns_with_the_types_the_warehouse_has(
    built_warehouse: Settings,
) -> None:
    """Dagster's asset pages list each model's and source's columns with their types (the
    `data_type` declared in the models' yml, the raw tables' types generated from sources/):
    every column the built relation has, named and typed as it is there."""
    graph = build_definitions(built_warehouse).resolve_asset_graph()
    built: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for database, table, name, ch_type in query(
            built_warehouse.warehouse_url, "SELECT database, table, name, type FROM "
            "system.columns WHERE database IN ('raw', 'staging', 'analytics', 'bi') "
            "ORDER BY database, table, position"):
        built.setdefault((database, table), []).append((name, ch_type))
    shown = 0
    for key in graph.get_all_asset_keys():
        if key.path[0] not in ("raw", "staging", "analytics", "bi") or len(key.path) != 2:
            continue
        node = graph.get(key)
        schema = node.metadata.get("dagster/column_schema")
        relation = built.get((key.path[0], key.path[1]))
        if relation is None:
            continue  # not built in this warehouse
        assert schema is not None, key
        columns = {c.name: c.type for c in schema.columns}
        assert columns == dict(relation), (key, set(columns.items()) ^ set(relation))
        shown += 1
    assert shown >= 43  # the 5 raw tables, the 34 models and the 4 seeds
