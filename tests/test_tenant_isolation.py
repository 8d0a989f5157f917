"""Tenant isolation is enforced by ClickHouse itself: these tests try to break it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from saas_warehouse.access.model import UnknownTenantError, check_tenant_id
from saas_warehouse.access.server import ALL_ROWS_POLICY, access_plan
from saas_warehouse.access.sessions import access_model, analyst_session, tenant_session
from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse

SCOPED_VIEWS = ["kpi_tenant_daily", "api_usage_daily", "funnel_daily", "retention_cohorts"]
DENIED = (497, 164)  # ACCESS_DENIED, READONLY


def admin_counts(url: str) -> dict[tuple[str, str], int]:
    with open_warehouse(url) as client:
        counts = {}
        for view in SCOPED_VIEWS:
            for tenant, n in client.query(
                f"SELECT tenant_id, count() FROM bi.{view} GROUP BY tenant_id"
            ).result_rows:
                counts[(view, tenant)] = n
        return counts


def three_tenants(url: str) -> list[str]:
    """The biggest, a middle and the smallest tenant with rows in kpi_tenant_daily."""
    with open_warehouse(url) as client:
        rows = client.query(
            "SELECT tenant_id FROM bi.kpi_tenant_daily GROUP BY tenant_id ORDER BY sum(events) DESC"
        ).result_rows
    tenants = [r[0] for r in rows]
    return [tenants[0], tenants[len(tenants) // 2], tenants[-1]]


def error_code(error: BaseException) -> int:
    match = re.search(r"Code: (\d+)", str(error))
    return int(match.group(1)) if match else -1


def test_the_model_matches_the_contract(built_warehouse: Settings) -> None:
    model = access_model(built_warehouse.warehouse_url)
    assert sorted(model.tenant_scoped_views) == sorted(SCOPED_VIEWS)
    assert model.shared_views == ("benchmarks_daily",)
    assert len(model.tenants) >= 10


def test_each_tenant_sees_only_its_own_rows(built_warehouse: Settings) -> None:
    url = built_warehouse.warehouse_url
    expected = admin_counts(url)
    for tenant in three_tenants(url):
        with tenant_session(url, tenant) as client:
            for view in SCOPED_VIEWS:
                # No WHERE clause: a dashboard whose filter was forgotten.
                rows = client.query(
                    f"SELECT tenant_id, count() FROM bi.{view} GROUP BY tenant_id"
                ).result_rows
                own = expected.get((view, tenant), 0)
                assert rows == ([(tenant, own)] if own else []), (tenant, view)
                # Asking for another tenant's rows explicitly gives nothing either.
                others = client.query(
                    f"SELECT count() FROM bi.{view} WHERE tenant_id != {{t:String}}",
                    parameters={"t": tenant},
                ).result_rows
                assert others == [(0,)]
            # Benchmarks are readable, anonymous, and identical to what an analyst sees.
            bench = client.query("SELECT * FROM bi.benchmarks_daily ORDER BY ALL").result_rows
            assert bench
    with analyst_session(url) as client:
        analyst_bench = client.query("SELECT * FROM bi.benchmarks_daily ORDER BY ALL").result_rows
    assert bench == analyst_bench


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count() FROM raw.product_events",
        "SELECT count() FROM raw.load_ledger",
        "SELECT count() FROM staging.stg_raw__product_events",
        "SELECT count() FROM analytics.fct_tenant_kpis_daily",
        "SELECT count() FROM analytics.dim_tenants",
        "SELECT * FROM system.users",
        "SELECT * FROM system.row_policies",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM s3('http://127.0.0.1:1/bucket/x.csv', 'CSV', 'a String')",
        "SELECT * FROM url('http://127.0.0.1:1/x.csv', 'CSV', 'a String')",
        "SELECT * FROM remote('127.0.0.1:1', 'analytics', 'dim_tenants')",
        "INSERT INTO bi.kpi_tenant_daily (tenant_id) VALUES ('x')",
        "CREATE TABLE bi.stolen ENGINE = Memory AS SELECT * FROM analytics.dim_tenants",
        "CREATE VIEW bi.mine AS SELECT * FROM analytics.fct_tenant_kpis_daily",
        "DROP VIEW bi.kpi_tenant_daily",
        "TRUNCATE TABLE analytics.dim_tenants",
        "SET readonly = 0",
        "SELECT count() FROM bi.kpi_tenant_daily SETTINGS readonly = 0",
        "SELECT count() FROM bi.kpi_tenant_daily SETTINGS additional_table_filters = "
        "{'bi.kpi_tenant_daily': '1'}",
        "SET SQL_tenant_id = 'someone_else'",
    ],
)
def test_a_tenant_cannot_reach_past_its_views(built_warehouse: Settings, sql: str) -> None:
    url = built_warehouse.warehouse_url
    tenant = three_tenants(url)[0]
    with tenant_session(url, tenant) as client:
        with pytest.raises(DatabaseError) as refused:
            client.query(sql)
    assert error_code(refused.value) in (*DENIED, 115), str(refused.value)[:300]


@pytest.mark.parametrize(
    ("table", "names"),
    [
        ("system.tables", "database, name"),
        ("system.parts", "database, table"),
        ("system.columns", "database, table"),
        ("system.databases", "name"),
        ("information_schema.tables", "table_schema, table_name"),
    ],
)
def test_system_tables_show_a_tenant_nothing_beyond_bi(
    built_warehouse: Settings, table: str, names: str
) -> None:
    """The engine filters system tables to what the login may read: the bi views only
    (their definitions name analytics tables, but no tenant's data)."""
    url = built_warehouse.warehouse_url
    tenant = three_tenants(url)[0]
    others = [t for t in access_model(url).tenants if t != tenant]
    with tenant_session(url, tenant) as client:
        objects = client.query(f"SELECT DISTINCT {names} FROM {table}").result_rows
        everything = client.raw_query(f"SELECT * FROM {table}", fmt="TabSeparated").decode()
    assert {row[0] for row in objects} <= {"bi"}
    assert not [t for t in others if t in everything]


def test_internal_analysts_see_every_tenant_read_only(built_warehouse: Settings) -> None:
    url = built_warehouse.warehouse_url
    expected = admin_counts(url)
    with analyst_session(url) as client:
        for view in SCOPED_VIEWS:
            rows = dict(client.query(
                f"SELECT tenant_id, count() FROM bi.{view} GROUP BY tenant_id"
            ).result_rows)
            assert rows == {t: n for (v, t), n in expected.items() if v == view}
        assert client.query("SELECT count() > 0 FROM analytics.dim_tenants").result_rows == [(1,)]
        with pytest.raises(DatabaseError):
            client.command("INSERT INTO analytics.dim_tenants (tenant_id) VALUES ('x')")
        with pytest.raises(DatabaseError):
            client.query("SELECT * FROM file('/etc/passwd', 'LineAsString')")


def test_benchmarks_never_show_a_group_under_five_tenants(built_warehouse: Settings) -> None:
    with analyst_session(built_warehouse.warehouse_url) as client:
        columns = client.query("SELECT * FROM bi.benchmarks_daily LIMIT 0").column_names
        small = client.query("SELECT count() FROM bi.benchmarks_daily WHERE tenants < 5")
        assert small.result_rows == [(0,)]
    assert "tenant_id" not in columns


@pytest.mark.parametrize(
    "tenant_id", ["x' OR '1'='1", "a;DROP TABLE raw.users", "../../etc", "", "t" * 65, "tnt_nope"]
)
def test_crafted_or_unknown_tenant_ids_are_refused(
    built_warehouse: Settings, tenant_id: str
) -> None:
    with pytest.raises(UnknownTenantError):
        with tenant_session(built_warehouse.warehouse_url, tenant_id):
            pass


def test_query_command_runs_under_the_tenant_login(built_warehouse: Settings) -> None:
    url = built_warehouse.warehouse_url
    tenant = three_tenants(url)[1]
    env = {"WAREHOUSE_URL": url, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "saas_warehouse.cli", "query", "--tenant", tenant,
               "--format", "csv", "SELECT DISTINCT tenant_id FROM bi.kpi_tenant_daily"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['"tenant_id"', f'"{tenant}"']
    crafted = subprocess.run(
        [*command[:5], "x' OR 1=1 --", *command[6:]], env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert crafted.returncode != 0
    assert crafted.stderr.startswith("error: malformed tenant id")


def test_server_ddl_parses_and_is_idempotent_in_form(built_warehouse: Settings) -> None:
    model = access_model(built_warehouse.warehouse_url)
    passwords = {t: f"pw-{i}" for i, t in enumerate(model.tenants)}
    plan = access_plan(model, passwords)
    idempotent = re.compile(
        r"^(CREATE (USER|ROLE|SETTINGS PROFILE) IF NOT EXISTS|CREATE ROW POLICY OR REPLACE|"
        r"GRANT |ALTER USER )"
    )
    with open_warehouse(built_warehouse.warehouse_url) as client:
        for statement in plan:
            assert idempotent.match(statement.sql), statement.shown
            # ClickHouse's own parser, without running the statement.
            client.query("SELECT formatQuery({q:String})", parameters={"q": statement.sql})
    # Every tenant-scoped view: one policy per tenant login plus one for everyone else.
    policies = [s.sql for s in plan if s.sql.startswith("CREATE ROW POLICY")]
    assert len(policies) == len(SCOPED_VIEWS) * (len(model.tenants) + 1)
    everyone = [p for p in policies if ALL_ROWS_POLICY in p]
    assert all(f"tenant_{check_tenant_id(t)}" in everyone[0] for t in model.tenants)
    # Secrets never appear in what is shown (dry-run) and differ per apply only in salt.
    shown = "\n".join(s.shown for s in plan)
    assert "pw-" not in shown and "sha256_hash BY '<redacted>'" in shown
    again = access_plan(model, passwords)
    assert [s.shown for s in again] == [s.shown for s in plan]
