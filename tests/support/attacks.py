"""The attacks the isolation tests make, in one place: the same statements and probes run
through a tenant session in-process (tests/test_tenant_isolation.py,
tests/test_tenant_side_channels.py) and through `serve` over HTTP (tests/test_endpoint_*.py)."""

from __future__ import annotations

from saas_warehouse.warehouse import open_warehouse
from serving.access.sessions import access_model

ACCESS_DENIED, READONLY, SETTING_CONSTRAINT_VIOLATION = 497, 164, 452

# Reads and settings beyond a tenant's login, and the code ClickHouse refuses each with (none:
# the session's guard refuses it before the engine sees it).
ENGINE_REFUSES: list[tuple[str, tuple[int, ...]]] = [
    ("SELECT count() FROM raw.product_events", (ACCESS_DENIED,)),
    ("SELECT count() FROM raw.load_ledger", (ACCESS_DENIED,)),
    ("SELECT count() FROM staging.stg_product__events", (ACCESS_DENIED,)),
    ("SELECT count() FROM analytics.fct_tenant_kpis_daily", (ACCESS_DENIED,)),
    ("SELECT count() FROM analytics.dim_tenants", (ACCESS_DENIED,)),
    ("SELECT * FROM system.users", (ACCESS_DENIED,)),
    ("SELECT * FROM system.row_policies", (ACCESS_DENIED,)),
    ("SELECT * FROM system.quotas", (ACCESS_DENIED,)),
    ("SELECT dictGet('analytics.d', 'x', 1)", ()),
    ("SELECT count() FROM bi.kpi_tenant_daily SETTINGS readonly = 0", (READONLY,)),
    ("SELECT count() FROM bi.kpi_tenant_daily SETTINGS additional_table_filters = "
     "{'bi.kpi_tenant_daily': '1'}", (SETTING_CONSTRAINT_VIOLATION,)),
    ("SELECT count() FROM bi.kpi_tenant_daily SETTINGS max_threads = 64",
     (SETTING_CONSTRAINT_VIOLATION,)),
    # Lifting a limit by setting it to 0 (= unlimited), or above its ceiling.
    ("SELECT count() FROM bi.kpi_tenant_daily SETTINGS max_execution_time = 0",
     (SETTING_CONSTRAINT_VIOLATION,)),
    ("SELECT count() FROM bi.kpi_tenant_daily SETTINGS max_memory_usage = 0",
     (SETTING_CONSTRAINT_VIOLATION,)),
    ("SELECT count() FROM bi.kpi_tenant_daily SETTINGS max_result_rows = 100000000",
     (SETTING_CONSTRAINT_VIOLATION,)),
    ("SELECT count() FROM bi.kpi_tenant_daily SETTINGS max_rows_to_read = 0",
     (SETTING_CONSTRAINT_VIOLATION,)),
]

# Files, the network, writes, several statements and statements that are no SELECT.
SESSION_REFUSES: list[str] = [
    # Files: the scalar file() reads any file the process can on the embedded engine.
    "SELECT file('/proc/self/environ')",
    "SELECT FILE('/etc/passwd')",
    "SELECT arrayMap(p -> file(p), ['/etc/passwd'])",
    "SELECT length(file('/etc/passwd')) FROM bi.kpi_tenant_daily LIMIT 1",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    # Network, other servers, processes, dictionaries: table functions.
    "SELECT * FROM s3('http://127.0.0.1:1/bucket/x.csv', 'CSV', 'a String')",
    "SELECT * FROM url('http://127.0.0.1:1/x.csv', 'CSV', 'a String')",
    "SELECT * FROM remote('127.0.0.1:1', 'analytics', 'dim_tenants')",
    "SELECT * FROM executable('id', 'TSV', 'x String')",
    "SELECT * FROM dictionary('analytics.d')",
    "SELECT * FROM numbers(1000000000)",
    "SELECT dictGetString('d', 'x', toUInt64(1))",
    "SELECT catboostEvaluate('/tmp/model.bin', 1)",
    "SELECT addressToLine(toUInt64(1))",
    # Writes, DDL, more than one statement, non-SELECT statements.
    "SELECT 1 INTO OUTFILE '/tmp/tenant-out.txt' TRUNCATE",
    "SELECT 1 FORMAT JSON",
    "SELECT 1; SELECT file('/etc/passwd')",
    "SELECT 1; DROP TABLE raw.users",
    "INSERT INTO bi.kpi_tenant_daily (tenant_id) VALUES ('x')",
    "CREATE TABLE bi.stolen ENGINE = Memory AS SELECT * FROM analytics.dim_tenants",
    "CREATE VIEW bi.mine AS SELECT * FROM analytics.fct_tenant_kpis_daily",
    "DROP VIEW bi.kpi_tenant_daily",
    "TRUNCATE TABLE analytics.dim_tenants",
    "SET readonly = 0",
    "SET max_execution_time = 0",
    "KILL QUERY WHERE 1",
    "SYSTEM DROP DNS CACHE",
    "EXPLAIN ESTIMATE SELECT * FROM bi.kpi_tenant_daily",
    "SHOW CREATE TABLE bi.kpi_tenant_daily",
    "SELECT 1) UNION ALL (SELECT file('/etc/passwd')",
]


def three_tenants(url: str) -> list[str]:
    """The biggest, a middle and the smallest tenant with rows in kpi_tenant_daily."""
    with open_warehouse(url) as client:
        rows = client.query(
            "SELECT tenant_id FROM bi.kpi_tenant_daily GROUP BY tenant_id ORDER BY sum(events) DESC"
        ).result_rows
    tenants = [r[0] for r in rows]
    return [tenants[0], tenants[len(tenants) // 2], tenants[-1]]


# Expressions that fail on a row exactly when `{armed}` holds there; `{value}` is the
# column's value as text, so a failure message would carry it out.
ERROR_CHANNELS = {
    "cast": "toUInt8(if({armed}, concat('leak|', {value}), '1')) = 1",
    "throwIf": "throwIf({armed} AND {value} != '', 'leak') = 0",
    "division by zero": "intDiv(1, if({armed} AND {value} != '', 0, 1)) = 1",
    "parse": "toDate(if({armed}, concat('leak|', {value}), '2026-01-01')) > '2000-01-01'",
}
# Where the tenant's expression sits in its query.
SHAPES = {
    "where": "SELECT count() FROM bi.{view} WHERE {probe}",
    "subquery": "SELECT count() FROM (SELECT * FROM bi.{view} WHERE {probe})",
    "select list": "SELECT sum({probe}) FROM bi.{view}",
    "order by": "SELECT tenant_id FROM bi.{view} ORDER BY {probe} LIMIT 1",
    "join on": ("SELECT count() FROM bi.{view} AS a INNER JOIN bi.{view} AS b "
                "ON a.tenant_id = b.tenant_id AND {probe_a}"),
}


def tenants_and_columns(url: str) -> tuple[str, str, dict[str, list[str]]]:
    """A tenant, another tenant whose rows are in every scoped view, and each scoped view's
    columns (as the analyst sees them)."""
    model = access_model(url)
    with open_warehouse(url) as admin:
        columns = {
            view: [r[0] for r in admin.query(
                "SELECT name FROM system.columns WHERE database = 'bi' AND table = {v:String} "
                "ORDER BY position", parameters={"v": view}).result_rows]
            for view in model.tenant_scoped_views
        }
        everywhere = " INTERSECT ".join(
            f"SELECT DISTINCT tenant_id FROM bi.{view}" for view in model.tenant_scoped_views)
        tenants = sorted(r[0] for r in admin.query(everywhere).result_rows)
    assert len(tenants) >= 2, "the built warehouse has two tenants with rows in every view"
    return tenants[0], tenants[-1], columns


def probes(other: str, columns: dict[str, list[str]]):
    for view, names in sorted(columns.items()):
        for column in names:
            for channel, template in ERROR_CHANNELS.items():
                probe = template.format(armed=f"tenant_id = '{other}'",
                                        value=f"ifNull(toString({column}), 'NULL')")
                yield view, column, channel, SHAPES["where"].format(view=view, probe=probe)
