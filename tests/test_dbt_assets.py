"""How dbt appears in Dagster: the `dbt build` arguments of a run, and the asset graph the
translator derives from the real manifest (no warehouse, no dbt run)."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from orchestration.transform.assets import dbt_build_args
from saas_warehouse.settings import Settings

DAY = dt.date(2026, 3, 1)


def _vars(args: list[str]) -> dict:
    return json.loads(args[args.index("--vars") + 1])


def test_build_args_carry_the_window_and_the_embedded_path() -> None:
    args = dbt_build_args(DAY, DAY + dt.timedelta(days=2), warehouse_url="chdb:///w/h")
    assert args[0] == "build" and "--full-refresh" not in args
    assert _vars(args) == {
        "start_date": "2026-03-01", "end_date": "2026-03-03", "warehouse_url": "chdb:///w/h",
    }


def test_build_args_full_refresh_and_batch_days() -> None:
    args = dbt_build_args(DAY, DAY, warehouse_url="chdb:///w", full_refresh=True, batch_days=0)
    assert args[-1] == "--full-refresh"
    assert _vars(args)["batch_days"] == 0


def test_a_server_url_never_reaches_the_command_line() -> None:
    url = "https://analyst:s3cret@ch.example.com:8443"
    args = dbt_build_args(DAY, DAY, warehouse_url=url)
    assert "s3cret" not in " ".join(args)
    assert "warehouse_url" not in _vars(args)


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
