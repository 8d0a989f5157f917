"""Cluster mode (WAREHOUSE_CLUSTER, docs/production.md): every statement the project generates
for a replicated cluster, parsed by ClickHouse's own parser (`formatQuery`, the engine's
parser without running the statement: no cluster or Keeper can run here), and what each must
say — ON CLUSTER, a Replicated engine, node-local scratch tables, s3Cluster reads — read back
from the parser's formatting, not from our strings. The same code on one server is what every
other test runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pytest
from support.dbt_cli import DBT_PROJECT
from test_access_renderings import parse

from ingest_loaders.landing import LandingFile, S3Landing
from ingest_loaders.scratch import ScratchTables
from ingest_loaders.tables import (
    LEDGER_TABLE,
    REJECTS_TABLE,
    add_column_sql,
    bookkeeping_ddl,
    raw_table_ddl,
)
from orchestration.transform.project import dbt_executable
from saas_warehouse.cluster import SINGLE_SERVER, Cluster
from saas_warehouse.contract import DATABASES
from saas_warehouse.settings import Settings
from saas_warehouse.sources import load_sources
from saas_warehouse.warehouse import create_database_sql, open_warehouse

CLUSTER = Cluster.named("warehouse_replicas")
ON = "ON CLUSTER warehouse_replicas"


@pytest.fixture(scope="module")
def parser(tmp_path_factory: pytest.TempPathFactory):
    with open_warehouse(f"chdb://{tmp_path_factory.mktemp('parser') / 'wh'}") as client:
        yield lambda sql: parse(client, sql)


def table_ddl() -> dict[str, str]:
    """Every CREATE TABLE the loader runs on a cluster, by table."""
    sources = load_sources().values()
    return {**{s.table: raw_table_ddl(s, cluster=CLUSTER) for s in sources},
            **bookkeeping_ddl(CLUSTER)}


def test_every_table_and_database_is_created_on_every_replica(parser) -> None:
    for table, ddl in table_ddl().items():
        formatted = parser(ddl)
        assert f"CREATE TABLE IF NOT EXISTS {table} {ON}" in formatted, formatted
        assert "ENGINE = Replicated" in formatted, formatted
    replacing = parser(bookkeeping_ddl(CLUSTER)["raw.pipeline_runs"])
    assert "ENGINE = ReplicatedReplacingMergeTree(recorded_at)" in replacing
    for database in {*DATABASES, "raw"}:
        assert parser(create_database_sql(database, CLUSTER)) == (
            f"CREATE DATABASE IF NOT EXISTS {database} {ON}")
    alters = [add_column_sql("raw.product_events", "late_hint", "Nullable(String)", CLUSTER,
                             after="properties"),
              add_column_sql(LEDGER_TABLE, "load_seconds", "Float64", CLUSTER)]
    for alter in alters:
        formatted = " ".join(parser(alter).split())
        assert f"ALTER TABLE {alter.split()[2]} {ON} (ADD COLUMN IF NOT EXISTS" in formatted


def test_one_server_ddl_is_unchanged_by_the_cluster_code(parser) -> None:
    """No cluster: plain MergeTree, no ON CLUSTER (what every other test runs)."""
    for source in load_sources().values():
        formatted = parser(raw_table_ddl(source, cluster=SINGLE_SERVER))
        assert "ON CLUSTER" not in formatted and "ENGINE = MergeTree" in formatted


def test_a_loads_scratch_tables_are_node_local_copies_the_swap_accepts(parser) -> None:
    """REPLACE PARTITION needs the same partition key and order as the raw table; the stage is
    a plain MergeTree on the loader's node, never ON CLUSTER."""
    source = load_sources()["product_events"]
    scratch = ScratchTables(None, source, dt.date(2026, 3, 1), "abc", CLUSTER)  # type: ignore[arg-type]
    stage, rejects = (parser(sql) for sql in scratch.create_statements())
    for formatted, like in ((stage, raw_table_ddl(source, cluster=CLUSTER)),
                            (rejects, bookkeeping_ddl(CLUSTER)[REJECTS_TABLE])):
        assert "ON CLUSTER" not in formatted and "ENGINE = MergeTree" in formatted, formatted
        assert _keys(formatted) == _keys(parser(like)) != ""


def _keys(formatted: str) -> str:
    """The PARTITION BY and ORDER BY clauses of a formatted CREATE TABLE."""
    lines = [line.strip() for line in formatted.splitlines()]
    return "\n".join(line for line in lines if line.startswith(("PARTITION BY", "ORDER BY")))


def test_s3_reads_are_spread_over_the_cluster(parser) -> None:
    landing = S3Landing("exports", "daily", None, "http://127.0.0.1:1", "us-east-1", "key",
                        "secret")
    file = LandingFile("api_requests/dt=2026-03-01/part-0.parquet", 1, "etag")
    function, params = landing.table_function(file, "Parquet", "a String", CLUSTER)
    formatted = parser(f"SELECT * FROM {function}")
    assert "s3Cluster({cluster:String}, {url:String}, {key:String}, {secret:String}" in formatted
    assert params["cluster"] == CLUSTER.name and params["secret"] == "secret"
    single, _ = landing.table_function(file, "Parquet", "a String")
    assert "FROM s3({url:String}" in parser(f"SELECT * FROM {single}")


def test_a_cluster_needs_a_server_and_a_name() -> None:
    with pytest.raises(ValueError, match="embedded engine"):
        Settings.from_env({"WAREHOUSE_CLUSTER": "main"})
    with pytest.raises(ValueError, match="not a cluster name"):
        Settings.from_env({"WAREHOUSE_URL": "https://u:p@ch.example.com",
                           "WAREHOUSE_CLUSTER": "main; DROP TABLE x"})
    settings = Settings.from_env({"WAREHOUSE_URL": "https://u:p@ch.example.com",
                                  "WAREHOUSE_CLUSTER": " main "})
    assert settings.cluster == Cluster("main")


@pytest.mark.slow  # a dbt parse of the whole project (~7 s)
def test_dbt_makes_its_tables_replicated_on_the_cluster(tmp_path: Path) -> None:
    """The profile hands WAREHOUSE_CLUSTER to dbt-clickhouse (`cluster:`: its DDL ON CLUSTER)
    and every table, incremental model and seed gets a Replicated engine; views need none."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "WAREHOUSE_"))}

    def engines(**extra: str) -> dict[str, set]:
        target = tmp_path / "target"
        done = subprocess.run(
            [dbt_executable(), "parse", "--target-path", str(target), "--project-dir",
             str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)],
            env={**env, **extra}, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:]
        nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
        found: dict[str, set] = {}
        for node in nodes:
            if node["resource_type"] in ("model", "seed"):
                found.setdefault(node["config"]["materialized"], set()).add(
                    node["config"].get("engine"))
        return found

    server = "http://user:secret@127.0.0.1:1"  # dbt parse does not connect
    clustered = engines(WAREHOUSE_URL=server, WAREHOUSE_CLUSTER=CLUSTER.name)
    assert clustered.pop("view") == {None}
    assert set(clustered) == {"table", "incremental", "seed"}
    assert all(found == {"ReplicatedMergeTree"} for found in clustered.values()), clustered

    from dbt.adapters.chdb.connections import ChdbCredentials

    with pytest.raises(ValueError, match=r"the embedded engine \(chdb://\) has none"):
        ChdbCredentials(url=f"chdb://{tmp_path / 'wh'}", cluster="main", database="",
                        schema="analytics")
