"""The `chdb` dbt adapter plugin and the project's dbt wiring, on the real engine.

dbt runs as a subprocess (as Dagster runs it); the warehouse is opened with clickhouse-connect
only after dbt has exited, since an on-disk chDB path is open in one process at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.dbt_cli import DBT_PROJECT, REPO_ROOT, dbt, ok, query, tiny_profile, write

pytestmark = pytest.mark.slow  # real dbt/Dagster runs: not in `make test-fast`

@pytest.fixture
def tiny_project(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway project: a seed, a view, a table and an incremental model with unique_key."""
    project, warehouse = tmp_path / "tiny", tmp_path / "wh"
    write(
        project,
        {
            "dbt_project.yml": """
                name: tiny
                profile: tiny
                config-version: 2
                models:
                  tiny:
                    +schema: marts
                macro-paths: ["macros"]
            """,
            "profiles.yml": tiny_profile(warehouse),
            # The project's own rule: custom schemas are database names, as-is.
            "macros/generate_schema_name.sql": (REPO_ROOT / "macros/generate_schema_name.sql")
            .read_text(),
            "seeds/prices.csv": """
                item_id,price
                1,10
                2,20
                3,30
            """,
            "models/prices_view.sql": """
                {{ config(materialized='view') }}
                select item_id, price from {{ ref('prices') }}
            """,
            "models/prices_table.sql": """
                {{ config(materialized='table', order_by='item_id') }}
                select item_id, price * 2 as double_price from {{ ref('prices_view') }}
            """,
            "models/prices_latest.sql": """
                {{ config(materialized='incremental', unique_key='item_id', order_by='item_id') }}
                select item_id, price from {{ ref('prices_view') }}
            """,
            "models/_models.yml": """
                version: 2
                models:
                  - name: prices_latest
                    columns:
                      - name: item_id
                        data_tests: [unique, not_null]
            """,
        },
    )
    return project, warehouse


def test_plugin_builds_seeds_views_tables_and_upserts_incrementals(tiny_project, tmp_path):
    project, warehouse = tiny_project
    view = "select item_id, price from marts.prices_view order by 1"
    table = "select * from marts.prices_table order by 1"
    latest = "select item_id, price from marts.prices_latest order by 1"

    first = ok(dbt(["build"], project, tmp_path))
    assert "PASS=6" in first.stdout  # seed, 3 models, 2 tests
    assert query(warehouse, view) == [(1, 10), (2, 20), (3, 30)]
    assert query(warehouse, table) == [(1, 20), (2, 40), (3, 60)]
    assert query(warehouse, "select database, name from system.tables where name = 'prices'") == [
        ("analytics", "prices")
    ]

    # New input: item 1 gone, item 2 repriced, item 4 new. The table follows the input;
    # the incremental model upserts by item_id and keeps item 1.
    (project / "seeds/prices.csv").write_text("item_id,price\n2,25\n3,30\n4,40\n")
    ok(dbt(["build"], project, tmp_path))
    assert query(warehouse, table) == [(2, 50), (3, 60), (4, 80)]
    assert query(warehouse, latest) == [(1, 10), (2, 25), (3, 30), (4, 40)]

    # A failing data test makes dbt fail.
    write(
        project,
        {
            "models/dupes.sql": "select 1 as item_id union all select 1 as item_id\n",
            "models/_dupes.yml": """
                version: 2
                models:
                  - name: dupes
                    columns:
                      - name: item_id
                        data_tests: [unique]
            """,
        },
    )
    failed = dbt(["build", "--select", "dupes"], project, tmp_path)
    assert failed.returncode == 1, failed.stdout[-4000:]
    assert "FAIL 1 unique_dupes_item_id" in failed.stdout


def test_project_seeds_land_in_analytics(tmp_path):
    warehouse = tmp_path / "wh"
    env = {"WAREHOUSE_URL": f"chdb://{warehouse}"}

    ok(dbt(["seed"], DBT_PROJECT, tmp_path, **env))

    # The manifest dbt parsed for the seed run: the raw sources, tied to the loader assets.
    manifest = json.loads((tmp_path / "dbt_target" / "manifest.json").read_text())
    sources = {s["name"]: s for s in manifest["sources"].values() if s["source_name"] == "raw"}
    tables = {"product_events", "api_requests", "billing_line_items", "tenants", "users"}
    assert set(sources) == tables
    for name, source in sources.items():
        assert source["schema"] == "raw"
        assert source["loaded_at_field"] == "_loaded_at"
        assert source["meta"]["dagster"]["asset_key"] == ["raw", name]
        assert all(column["description"] for column in source["columns"].values())
        assert {"_partition_date", "_loaded_at"} <= set(source["columns"])

    rows = query(
        warehouse,
        "select funnel_id, step_index, event, window_hours"
        " from analytics.funnel_definitions order by funnel_id, step_index",
    )
    assert rows == [
        ("activation", 1, "signup", 72),
        ("activation", 2, "onboarding_completed", 72),
        ("activation", 3, "project_created", 72),
        ("activation", 4, "invite_sent", 72),
        ("upgrade", 1, "upgrade_clicked", 24),
        ("upgrade", 2, "subscription_upgraded", 24),
    ]
    assert query(warehouse, "select plan from analytics.plans order by plan_rank") == [
        ("free",), ("starter",), ("pro",), ("enterprise",)
    ]


def test_profile_reads_a_server_from_an_https_url(tmp_path):
    # Nothing listens on port 9; dbt debug still shows the credentials the plugin parsed.
    url = "https://analyst:s3cret@127.0.0.1:9"
    shown = dbt(["debug"], DBT_PROJECT, tmp_path, WAREHOUSE_URL=url)
    out = shown.stdout
    assert "adapter type: chdb" in out  # the plugin, handing a server to dbt-clickhouse
    shown_credentials = ("driver: http", "host: 127.0.0.1", "port: 9", "user: analyst",
                         "secure: True")
    for line in (*shown_credentials, "schema: analytics"):
        assert line in out, out[-3000:]
    assert "https://127.0.0.1:9" in out  # it tried TLS (nothing listens)
    assert "s3cret" not in out
    assert "s3cret" not in (tmp_path / "dbt_logs" / "dbt.log").read_text()


def test_config_file_reaches_the_engine(tmp_path):
    """`config_file` must really be applied (a chdb:// DSN would silently drop it)."""
    from dbt.adapters.chdb.connections import ChdbClient, ChdbCredentials

    write(
        tmp_path,
        {
            "config.xml": f"""
                <clickhouse><users_config>{tmp_path / "users.xml"}</users_config></clickhouse>
            """,
            "users.xml": """
                <clickhouse>
                  <profiles><default><max_query_size>123457</max_query_size></default></profiles>
                  <users><default><no_password/><profile>default</profile></default></users>
                  <quotas><default/></quotas>
                </clickhouse>
            """,
        },
    )
    credentials = ChdbCredentials(
        url=f"chdb://{tmp_path}/wh", config_file=str(tmp_path / "config.xml"), schema="analytics"
    )
    client = ChdbClient(credentials)
    try:
        assert client.query("select getSetting('max_query_size')").result_rows == [(123457,)]
        assert client.query("select currentDatabase()").result_rows == [("analytics",)]
    finally:
        client.close()
