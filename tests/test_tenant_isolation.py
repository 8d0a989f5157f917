"""Tenant isolation is enforced by ClickHouse itself: these tests try to break it the way an
attacker or a misconfigured BI tool would (docs/contract.md §6)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from support.attacks import (
    ENGINE_REFUSES,
    SESSION_REFUSES,
    SETTING_CONSTRAINT_VIOLATION,
    three_tenants,
)

from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse
from serving.access.guard import RefusedStatementError
from serving.access.limits import TenantLimits
from serving.access.model import UnknownTenantError
from serving.access.sessions import access_model, analyst_session, tenant_session

SCOPED_VIEWS = ["kpi_tenant_daily", "api_usage_daily", "funnel_daily", "retention_cohorts",
                "user_lifecycle_daily", "feature_adoption_daily", "retention_weekly", "kpi_alerts"]
TOO_MANY_ROWS, QUOTA_EXCEEDED, TOO_MANY_ROWS_OR_BYTES = 158, 201, 396


def admin_counts(url: str) -> dict[tuple[str, str], int]:
    with open_warehouse(url) as client:
        counts = {}
        for view in SCOPED_VIEWS:
            for tenant, n in client.query(
                f"SELECT tenant_id, count() FROM bi.{view} GROUP BY tenant_id"
            ).result_rows:
                counts[(view, tenant)] = n
        return counts


def error_code(error: BaseException) -> int:
    match = re.search(r"Code: (\d+)", str(error))
    return int(match.group(1)) if match else -1


def cli(url: str, *args: str, extra_env: dict[str, str] | None = None):
    env = {"WAREHOUSE_URL": url, "PATH": "/usr/bin:/bin", **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "saas_warehouse_cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tenant(built_warehouse: Settings) -> str:
    return three_tenants(built_warehouse.warehouse_url)[0]


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


def engine_refusal(client, sql: str, codes: tuple[int, ...]) -> str | None:
    """None when `sql` is refused as it should be: by ClickHouse with one of `codes`, or, when
    `codes` is empty, by the session's guard before it ran. Else what happened instead."""
    try:
        client.query(sql)
        return "it ran"
    except RefusedStatementError:
        if not codes:
            return None
        try:  # the guard refused it first (system tables); the engine refuses it on its own too
            client._client.query(sql)
            return "the guard refused it, but the engine alone runs it"
        except DatabaseError as e:
            refused = e
    except DatabaseError as e:
        if not codes:
            return f"the engine refused it, not the session's guard: {str(e)[:200]}"
        refused = e
    return None if error_code(refused) in codes else str(refused)[:300]


# Each test below tries a list of statements in one tenant session (opening one costs ~1 s)
# and names every statement that got through, not only the first. Then the session must still
# answer with its tenant's rows: a session broken midway would call every later statement
# refused.


def still_answers(client, tenant: str) -> bool:
    rows = client.query("SELECT DISTINCT tenant_id FROM bi.kpi_tenant_daily").result_rows
    return rows == [(tenant,)]


def test_the_engine_refuses_reads_and_settings_beyond_the_login(
    built_warehouse: Settings, tenant: str
) -> None:
    with tenant_session(built_warehouse.warehouse_url, tenant) as client:
        passed = {sql: why for sql, codes in ENGINE_REFUSES
                  if (why := engine_refusal(client, sql, codes)) is not None}
        assert still_answers(client, tenant)
    assert passed == {}


def session_refused(client, sql: str) -> bool:
    """Whether the session refused `sql` before it ran, asked as rows and as raw bytes."""
    for ask in (lambda: client.query(sql), lambda: client.raw_query(sql, fmt="CSVWithNames")):
        try:
            ask()
            return False
        except RefusedStatementError as e:
            if not str(e).startswith("refused: "):
                return False
        except DatabaseError:  # it reached the engine
            return False
    return True


def test_the_session_refuses_files_writes_and_other_statements(
    built_warehouse: Settings, tenant: str
) -> None:
    with tenant_session(built_warehouse.warehouse_url, tenant) as client:
        passed = [sql for sql in SESSION_REFUSES if not session_refused(client, sql)]
        assert still_answers(client, tenant)
    assert passed == []
    assert not Path("/tmp/tenant-out.txt").exists()


def test_into_outfile_writes_nothing_through_the_cli(
    built_warehouse: Settings, tenant: str, tmp_path: Path
) -> None:
    target = tmp_path / "sitecustomize.py"
    result = cli(built_warehouse.warehouse_url, "query", "--tenant", tenant,
                 f"SELECT 'import os' INTO OUTFILE '{target}' TRUNCATE FORMAT TSVRaw")
    assert result.returncode == 1
    assert result.stderr.startswith("error: refused: ")
    assert not target.exists()


# The settings each BI driver sends with its queries (docs/bi.md lists where each comes from).
DRIVER_SETTINGS = {
    # Metabase's ClickHouse driver (clickhouse-jdbc): its row limit, and the report time zone.
    "metabase": {"max_result_rows": 2000, "result_overflow_mode": "break",
                 "session_timezone": "Europe/Berlin"},
    "metabase download": {"max_result_rows": 1048575, "result_overflow_mode": "break"},
    # Grafana's ClickHouse data source (clickhouse-go): query timeout + 5 s; its row limit.
    "grafana": {"max_execution_time": 65, "limit": 1000},
    "grafana json paths": {"max_execution_time": 10},
    # clickhouse-connect, as Superset uses it.
    "clickhouse-connect": {"date_time_input_format": "best_effort",
                           "cast_string_to_dynamic_use_inference": 1,
                           "cancel_http_readonly_queries_on_client_close": 1,
                           "send_progress_in_http_headers": 1,
                           "http_headers_progress_interval_ms": 120000,
                           "output_format_arrow_string_as_string": 1,
                           "enable_http_compression": 1},
}


def test_bi_drivers_settings_are_accepted(built_warehouse: Settings, tenant: str) -> None:
    sql = "SELECT tenant_id, count() AS n FROM bi.kpi_tenant_daily GROUP BY tenant_id"
    seen = {}
    with tenant_session(built_warehouse.warehouse_url, tenant) as client:
        for driver, settings in DRIVER_SETTINGS.items():
            clause = ", ".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}"
                               for k, v in settings.items())
            # As a SETTINGS clause (JDBC, the CLI) and as per-query settings (clickhouse-connect).
            inline = client.query(f"{sql} SETTINGS {clause}").result_rows
            passed = client.query(sql, settings=dict(settings)).result_rows
            seen[driver] = (inline == passed, [row[0] for row in inline])
    assert seen == {driver: (True, [tenant]) for driver in DRIVER_SETTINGS}


def test_session_timezone_changes_what_a_tenant_sees(
    built_warehouse: Settings, tenant: str
) -> None:
    sql = "SELECT toString(toDateTime('2026-04-01 00:00:00', 'UTC'))"
    with tenant_session(built_warehouse.warehouse_url, tenant) as client:
        utc = client.query(sql).result_rows
        tokyo = client.query(sql, settings={"session_timezone": "Asia/Tokyo"}).result_rows
        local = client.query("SELECT toString(toDateTime('2026-04-01 00:00:00'))",
                             settings={"session_timezone": "Asia/Tokyo"}).result_rows
    assert utc == tokyo == [("2026-04-01 00:00:00",)]
    assert local == [("2026-04-01 00:00:00",)]


def test_a_query_over_a_limit_fails_and_another_tenant_still_runs(
    built_warehouse: Settings,
) -> None:
    url = built_warehouse.warehouse_url
    first, second, _ = three_tenants(url)
    tight = TenantLimits(max_rows_to_read=100)
    with tenant_session(url, first, limits=tight) as client:
        with pytest.raises(DatabaseError) as over:
            client.query("SELECT count() FROM bi.kpi_tenant_daily")
        # Tenants may lower a limit for themselves, never raise it: a query's SETTINGS are
        # refused, a subquery's are held within the bounds.
        with pytest.raises(DatabaseError) as raised:
            client.query("SELECT 1 SETTINGS max_rows_to_read = 1000")
        with pytest.raises(DatabaseError) as nested:
            client.query("SELECT * FROM (SELECT count() FROM bi.kpi_tenant_daily "
                         "SETTINGS max_rows_to_read = 1000000000)")
    assert error_code(over.value) == TOO_MANY_ROWS, str(over.value)[:300]
    assert error_code(raised.value) == SETTING_CONSTRAINT_VIOLATION
    assert error_code(nested.value) == TOO_MANY_ROWS, str(nested.value)[:300]
    with tenant_session(url, second) as client:
        assert client.query("SELECT count() > 0 FROM bi.kpi_tenant_daily").result_rows == [(1,)]
    # The client's own handshake reads ~1,900 rows of system.settings: a ceiling above that.
    many = "SELECT arrayJoin(range(1000)) AS n FROM bi.kpi_tenant_daily"  # 1,000 per row
    with tenant_session(url, second, limits=TenantLimits(max_result_rows=5000)) as client:
        with pytest.raises(DatabaseError) as too_many:
            client.query(many)
        # What Metabase does: ask for its own row limit, truncated rather than failed.
        rows = client.query(f"{many} SETTINGS max_result_rows = 2000, "
                            "result_overflow_mode = 'break'").result_rows
    assert error_code(too_many.value) == TOO_MANY_ROWS_OR_BYTES, str(too_many.value)[:300]
    # `break` returns what was read up to the block that crossed the limit, instead of failing.
    assert 2000 <= len(rows) <= 5000  # and the login's ceiling holds


def test_the_hourly_quota_stops_a_login(built_warehouse: Settings) -> None:
    url = built_warehouse.warehouse_url
    first, second, _ = three_tenants(url)
    # Each call costs the guard's parses too: a budget of 30 queries runs out within 30 calls.
    with tenant_session(url, first, limits=TenantLimits(queries_per_hour=30)) as client:
        with pytest.raises(DatabaseError) as exhausted:
            for _ in range(30):
                client.query("SELECT count() FROM bi.kpi_tenant_daily")
    assert error_code(exhausted.value) == QUOTA_EXCEEDED, str(exhausted.value)[:300]
    with tenant_session(url, second) as client:
        assert client.query("SELECT count() > 0 FROM bi.kpi_tenant_daily").result_rows == [(1,)]


def test_a_new_tenant_scoped_view_is_filtered_before_any_apply(
    built_warehouse: Settings, tenant: str
) -> None:
    url = built_warehouse.warehouse_url
    with open_warehouse(url) as admin:
        admin.command("CREATE VIEW bi.zz_added_later DEFINER = bi_definer SQL SECURITY DEFINER "
                      "AS SELECT tenant_id, dau FROM analytics.fct_tenant_kpis_daily "
                      "COMMENT 'tenant_scope: tenant_id'")
    try:
        with tenant_session(url, tenant) as client:
            seen = client.query("SELECT DISTINCT tenant_id FROM bi.zz_added_later").result_rows
    finally:
        with open_warehouse(url) as admin:
            admin.command("DROP VIEW bi.zz_added_later")
    assert seen == [(tenant,)]


def test_a_session_refuses_an_engine_opened_under_another_login(
    built_warehouse: Settings, tenant: str
) -> None:
    """chDB hosts one engine per process; a tenant session must not inherit an admin's."""
    url = built_warehouse.warehouse_url
    with open_warehouse(url):
        with pytest.raises(RuntimeError, match="already open in this process"):
            with tenant_session(url, tenant):
                pass


SYSTEM_TABLES_BI_TOOLS_LIST = [
    ("system.tables", "database, name"),
    ("system.columns", "database, table"),
    ("system.databases", "name"),
    ("information_schema.tables", "table_schema, table_name"),
]


def test_system_tables_show_a_tenant_nothing_beyond_bi(built_warehouse: Settings) -> None:
    """The engine filters system tables to what the login may read: the bi views only
    (their definitions name analytics tables, but no tenant's data)."""
    url = built_warehouse.warehouse_url
    tenant = three_tenants(url)[0]
    others = [t for t in access_model(url).tenants if t != tenant]
    shown = {}
    with tenant_session(url, tenant) as client:
        for table, names in SYSTEM_TABLES_BI_TOOLS_LIST:
            objects = client.query(f"SELECT DISTINCT {names} FROM {table}").result_rows
            everything = client.raw_query(f"SELECT * FROM {table}", fmt="TabSeparated").decode()
            shown[table] = ({row[0] for row in objects} - {"bi"},
                            [t for t in others if t in everything])
    assert shown == {table: (set(), []) for table, _ in SYSTEM_TABLES_BI_TOOLS_LIST}


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
    "tenant_id",
    ["x' OR '1'='1", "a;DROP TABLE raw.users", "../../etc", "", "t" * 65, "tnt_nope", None],
)
def test_crafted_empty_or_unknown_tenant_ids_are_refused(
    built_warehouse: Settings, tenant_id: str | None
) -> None:
    with pytest.raises(UnknownTenantError):
        with tenant_session(built_warehouse.warehouse_url, tenant_id):
            pass


def test_query_command_runs_under_the_tenant_login(built_warehouse: Settings) -> None:
    url = built_warehouse.warehouse_url
    tenant = three_tenants(url)[1]
    sql = "SELECT DISTINCT tenant_id FROM bi.kpi_tenant_daily"
    result = cli(url, "query", "--tenant", tenant, "--format", "csv", sql)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['"tenant_id"', f'"{tenant}"']
    crafted = cli(url, "query", "--tenant", "x' OR 1=1 --", "--format", "csv", sql)
    assert crafted.returncode != 0
    assert crafted.stderr.startswith("error: malformed tenant id")


@pytest.mark.parametrize("command", ["query", "report"])
def test_an_empty_tenant_is_refused_not_widened_to_all(
    built_warehouse: Settings, command: str, tmp_path: Path
) -> None:
    args = (["query", "--tenant", "", "SELECT count() FROM bi.kpi_tenant_daily"]
            if command == "query" else
            ["report", "--tenant", "", "--out", str(tmp_path / "r.html")])
    result = cli(built_warehouse.warehouse_url, *args)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no tenant given"), result.stderr
    assert result.stdout == "" and not (tmp_path / "r.html").exists()


def test_errors_are_one_line_with_clickhouse_code_once(
    built_warehouse: Settings, tenant: str
) -> None:
    url = built_warehouse.warehouse_url
    over = cli(url, "query", "--tenant", tenant,
               "SELECT 1 FROM bi.kpi_tenant_daily SETTINGS max_execution_time = 100000")
    assert over.returncode == 1
    lines = over.stderr.splitlines()
    assert len(lines) == 1 and lines[0].count("Code: 452") == 1, over.stderr
    assert "(version" not in lines[0] and lines[0].count("SETTING_CONSTRAINT_VIOLATION") == 1
    # KILL QUERY once crashed the CLI with a Python error; as a tenant it is refused.
    killed = cli(url, "query", "--tenant", tenant, "KILL QUERY WHERE 1")
    assert killed.returncode == 1 and killed.stderr.startswith("error: refused: ")
    analyst = cli(url, "query", "KILL QUERY WHERE 1")
    assert "Traceback" not in analyst.stderr and "zip()" not in analyst.stderr, analyst.stderr


SYSTEM_TABLES_BEYOND_BI_TOOLS = [
    "SELECT * FROM system.processes",
    "SELECT * FROM system.disks",
    "SELECT database, table FROM system.parts",
    "SELECT * FROM `system`.`stack_trace`",
    "SELECT count() FROM bi.kpi_tenant_daily WHERE 1 IN system.parts",
    "SELECT (SELECT count() FROM system.mutations)",
    "SELECT * FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE",
    "SELECT * FROM system.tables AS t INNER JOIN system.query_log AS q ON 1",
]


def test_system_tables_beyond_what_bi_tools_list_are_refused(
    built_warehouse: Settings, tenant: str
) -> None:
    def refused(client, sql: str) -> bool:
        try:
            client.query(sql)
        except RefusedStatementError as e:
            return "not readable in a tenant session" in str(e)
        return False

    with tenant_session(built_warehouse.warehouse_url, tenant) as client:
        passed = [sql for sql in SYSTEM_TABLES_BEYOND_BI_TOOLS if not refused(client, sql)]
        assert still_answers(client, tenant)
    assert passed == []


def test_what_bi_tools_list_the_views_with_stays_readable(
    built_warehouse: Settings, tenant: str
) -> None:
    with tenant_session(built_warehouse.warehouse_url, tenant) as client:
        for sql in ("SELECT name FROM system.databases", "SELECT name FROM system.functions",
                    "SELECT name FROM system.settings", "SELECT 1 FROM system.one",
                    "SELECT table_name FROM INFORMATION_SCHEMA.TABLES",
                    "SELECT name FROM system.data_type_families"):
            assert client.query(sql).result_rows, sql
        views = client.query("SELECT name FROM system.tables WHERE database = 'bi'").result_rows
    assert {row[0] for row in views} >= set(SCOPED_VIEWS)


def test_chdb_defaults_a_tenant_may_restate_but_not_change(
    built_warehouse: Settings, tenant: str
) -> None:
    """chDB starts with four settings off ClickHouse's defaults; restating the current value is
    no change (constraints allow it), changing it is refused. Introspection is off for
    tenants, whatever chDB's default."""
    with tenant_session(built_warehouse.warehouse_url, tenant) as client:
        engine = client._client  # reads its own settings; the guard would refuse EXPLAIN only
        current = dict(engine.query(
            "SELECT name, value FROM system.settings WHERE name IN "
            "('implicit_select', 'materialize_statistics_on_insert', "
            "'output_format_arrow_use_native_writer', 'allow_introspection_functions')"
        ).result_rows)
        assert current["allow_introspection_functions"] == "0"
        for name, value in current.items():
            client.query(f"SELECT 1 SETTINGS {name} = {value}")
            with pytest.raises(DatabaseError) as changed:
                client.query(f"SELECT 1 SETTINGS {name} = {1 - int(value)}")
            assert error_code(changed.value) == SETTING_CONSTRAINT_VIOLATION, name


@pytest.mark.parametrize(
    ("sql", "limits", "over"),
    [
        # Above the ~1,900 rows of system.settings the client's own handshake reads.
        ("SELECT arrayJoin(range(5000))", TenantLimits(max_result_rows=2500), "rows"),
        ("SELECT repeat('a', 1000000)", TenantLimits(max_result_bytes=100_000), "bytes"),
    ],
)
def test_result_ceilings_hold_for_one_big_block(
    built_warehouse: Settings, tenant: str, sql: str, limits: TenantLimits, over: str
) -> None:
    """ClickHouse checks result limits between blocks; a single block passed them whole."""
    with tenant_session(built_warehouse.warehouse_url, tenant, limits=limits) as client:
        with pytest.raises(DatabaseError) as refused:
            client.query(sql)
        with pytest.raises(DatabaseError) as raw:
            client.raw_query(sql, fmt="CSVWithNames")
        for error in (refused.value, raw.value):
            assert error_code(error) == TOO_MANY_ROWS_OR_BYTES, str(error)
            assert f"max {over}" in str(error)
        # What Metabase asks for: its limit, cut rather than failed, never past the ceiling.
        cut = client.query(sql, settings={"result_overflow_mode": "break"}).result_rows
        inline = client.query(f"{sql} SETTINGS result_overflow_mode = 'break'").result_rows
        csv = client.raw_query(sql, fmt="CSVWithNames",
                               settings={"result_overflow_mode": "break"})
    if over == "rows":
        assert len(cut) == len(inline) == 2500
        assert csv.count(b"\n") == 1 + 2500
    else:
        assert cut == inline == [] and csv.count(b"\n") == 1
