"""Through `serve`, a tenant's login sees, may do and is limited exactly as `query --tenant`
(docs/contract.md §6): the rows of each view equal the in-process tenant session's, and
nothing in a request — URL settings, `param_`, headers, `SET`, `SETTINGS`, the database —
changes whose rows it sees. On a small warehouse with hand-made `bi` views; the built
warehouse's views are in test_endpoint_built.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy
from support.endpoint_server import (
    TOY_SCOPED,
    TOY_TENANTS,
    Served,
    build_toy_warehouse,
    request,
    serving,
)
from support.framing import unframe

from serving.access.profile import EVALUATION_ORDER
from serving.access.sessions import tenant_session

TOY_VIEWS = ("bench", "kpi", "undeclared", "usage")
ME, OTHER = "tnt_a", "tnt_b"
LEAK = "toUInt8(if({col} != '{me}', concat({col}, 'x'), '1')) = 1"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict]]:
    """The endpoint, and every tenant's rows of every view from `tenant_session` in-process
    (before the endpoint opens the warehouse: one process at a time)."""
    root = tmp_path_factory.mktemp("endpoint_isolation")
    url = build_toy_warehouse(root / "warehouse")
    expected = {}
    for tenant in TOY_TENANTS:
        with tenant_session(url, tenant) as session:
            for view in TOY_VIEWS:
                expected[(tenant, view)] = session.raw_query(
                    f"SELECT * FROM bi.{view} ORDER BY ALL", fmt="TabSeparatedWithNames")
    with serving(url, root, TOY_TENANTS) as served:
        yield served, expected


def tenant_request(served: Served, sql: str, tenant: str = ME, **options):
    return request(served, sql, user=f"tenant_{tenant}", **options)


@pytest.mark.parametrize("tenant", TOY_TENANTS)
def test_each_tenants_rows_equal_the_in_process_tenant_session(toy, tenant: str) -> None:
    served, expected = toy
    for view in TOY_VIEWS:
        status, _, body = tenant_request(served, f"SELECT * FROM bi.{view} ORDER BY ALL",
                                         tenant, params={"default_format":
                                                         "TabSeparatedWithNames"})
        assert (status, body) == (200, expected[(tenant, view)]), (tenant, view, body[:200])
    # The same through clickhouse-connect (Native, the formats Superset's driver reads).
    client = served.client(f"tenant_{tenant}")
    for view, column in TOY_SCOPED.items():
        seen = client.query(f"SELECT DISTINCT {column} FROM bi.{view}").result_rows
        assert seen == [(tenant,)]


def _own_rows_only(served: Served, status: int, body: bytes) -> bool:
    return status != 200 or body.strip() in (b"", ME.encode())


@pytest.mark.parametrize("params", [
    {"additional_table_filters": "{'bi.kpi': '1'}"},
    {"additional_result_filter": "1"},
    {"readonly": "0"},
    {"readonly": "2", "additional_table_filters": "{'bi.kpi': '1'}"},
    {"max_execution_time": "0"},
    {"max_result_rows": "100000000000"},
    {"max_threads": "64"},
    {"optimize_move_to_prewhere": "1"},
    {"database": "analytics"},
    {"session_id": "mine", "additional_table_filters": "{'bi.kpi': '1'}"},
    {"role": "bi_analyst"},
])
def test_no_url_setting_changes_whose_rows_a_tenant_sees(toy, params: dict) -> None:
    served, _ = toy
    status, headers, body = tenant_request(served, "SELECT DISTINCT tenant_id FROM bi.kpi",
                                           params=params)
    assert _own_rows_only(served, status, body), (params, body)
    if "database" not in params and "role" not in params and params != {"max_threads": "64"}:
        assert status in (403, 404), (params, status, body)
        assert body.startswith(b"Code: "), body


@pytest.mark.parametrize("sql", [
    "SELECT DISTINCT tenant_id FROM bi.kpi SETTINGS additional_table_filters = {'bi.kpi': '1'}",
    "SELECT DISTINCT tenant_id FROM (SELECT * FROM bi.kpi SETTINGS additional_table_filters = "
    "{'bi.kpi': '1'})",
    "SELECT DISTINCT tenant_id FROM bi.kpi SETTINGS readonly = 0",
    "SET additional_table_filters = {'bi.kpi': '1'}",
    "SET readonly = 0",
    "SELECT DISTINCT tenant_id FROM analytics.fct",
    "SELECT DISTINCT tenant_id FROM analytics.dim_tenants",
    "SELECT s FROM raw.secrets",
    "SELECT DISTINCT tenant_id FROM bi.kpi WHERE tenant_id IN analytics.dim_tenants",
    "SELECT DISTINCT tenant_id FROM bi.kpi WHERE 'raw-secret' IN raw.secrets",
    "SELECT DISTINCT tenant_id FROM merge('bi', 'kpi')",
    "SELECT DISTINCT tenant_id FROM view(SELECT * FROM analytics.fct)",
    "SELECT DISTINCT tenant_id FROM cluster('default', analytics.fct)",
    "SELECT file('/etc/passwd')",
    "SELECT * FROM numbers(10)",
    "SELECT 1; SELECT DISTINCT tenant_id FROM analytics.fct",
    "INSERT INTO bi.kpi (tenant_id) VALUES ('x')",
    "CREATE TEMPORARY TABLE t AS SELECT * FROM analytics.fct",
    "KILL QUERY WHERE 1",
    "SYSTEM DROP DNS CACHE",
    "SELECT query FROM system.processes",
    "SELECT * FROM system.users",
    "SELECT 1 INTO OUTFILE '/tmp/endpoint-tenant-out.txt'",
    "EXPLAIN SELECT * FROM analytics.fct",
])
def test_no_sql_changes_whose_rows_a_tenant_sees_or_reaches_past_bi(toy, sql: str) -> None:
    served, _ = toy
    status, _, body = tenant_request(served, sql)
    assert _own_rows_only(served, status, body), (sql, body)
    assert b"raw-secret" not in body and b"root:" not in body
    if "(SELECT * FROM bi.kpi SETTINGS" not in sql:  # a subquery's SETTINGS: ignored
        assert status != 200 and body.startswith(b"Code: "), (sql, body)


def test_identifier_parameters_are_checked_as_they_run(toy) -> None:
    served, _ = toy
    for table in ("analytics.fct", "raw.secrets", "bi.kpi"):
        database, _, name = table.partition(".")
        status, _, body = tenant_request(served,
                                         "SELECT count() FROM {d:Identifier}.{t:Identifier}",
                                         params={"param_d": database, "param_t": name})
        assert (status == 200) == (table == "bi.kpi"), (table, body)
        status, _, body = tenant_request(served, "SELECT count() FROM bi.kpi WHERE 'raw-secret' IN "
                                         "{d:Identifier}.{t:Identifier}",
                                         params={"param_d": database, "param_t": name})
        assert status != 200 and body.startswith(b"Code: "), (table, body)


def test_headers_do_not_change_the_login_or_the_database(toy) -> None:
    served, _ = toy
    status, _, body = tenant_request(served, "SELECT DISTINCT tenant_id FROM kpi",
                                     headers={"X-ClickHouse-Database": "analytics"})
    assert status == 403
    status, _, body = tenant_request(served, "SELECT DISTINCT tenant_id FROM fct",
                                     headers={"X-ClickHouse-Database": "bi"})
    assert status != 200
    status, _, body = tenant_request(served, "SELECT DISTINCT tenant_id FROM kpi",
                                     headers={"X-ClickHouse-Database": "bi"})
    assert (status, body) == (200, f"{ME}\n".encode())


@pytest.mark.parametrize("view", sorted(TOY_SCOPED))
def test_errors_carry_no_other_tenants_values(toy, view: str) -> None:
    served, _ = toy
    probe = LEAK.format(col=TOY_SCOPED[view], me=ME)
    for sql in (f"SELECT count() FROM bi.{view} WHERE {probe}",
                f"SELECT count() FROM (SELECT * FROM bi.{view} WHERE {probe})",
                f"SELECT sum({probe}) FROM bi.{view}"):
        status, _, body = tenant_request(served, sql)
        assert status == 200, (sql, body)
        # Armed: the analyst, who reads every tenant's rows, gets the error.
        status, _, body = request(served, sql, user="analyst")
        assert status != 200 and b"Cannot parse string" in body, (sql, body)


def test_metadata_statements_answer_for_bi_only(toy) -> None:
    served, _ = toy
    answers = {sql: tenant_request(served, sql)[2] for sql in (
        "SHOW DATABASES", "SHOW TABLES FROM bi", "SHOW TABLES", "SHOW TABLES FROM analytics",
        "DESCRIBE bi.kpi", "DESCRIBE TABLE analytics.fct", "EXISTS bi.kpi",
        "EXISTS TABLE analytics.fct", "SELECT DISTINCT database FROM system.tables",
        "SELECT DISTINCT database FROM system.columns", "SELECT name FROM system.databases",
        "SELECT DISTINCT table_schema FROM information_schema.tables",
        "SELECT count() > 100 FROM system.functions",
        "SELECT count() > 100 FROM system.settings")}
    assert answers == {
        "SHOW DATABASES": b"bi\n", "SHOW TABLES FROM bi": b"bench\nkpi\nundeclared\nusage\n",
        "SHOW TABLES": b"bench\nkpi\nundeclared\nusage\n", "SHOW TABLES FROM analytics": b"",
        "DESCRIBE bi.kpi": b"tenant_id\tString" + b"\t" * 5 + b"\nday\tDate" + b"\t" * 5
        + b"\nv\tUInt64" + b"\t" * 5 + b"\n",
        "DESCRIBE TABLE analytics.fct": b"", "EXISTS bi.kpi": b"1\n",
        "EXISTS TABLE analytics.fct": b"0\n", "SELECT DISTINCT database FROM system.tables":
        b"bi\n", "SELECT DISTINCT database FROM system.columns": b"bi\n",
        "SELECT name FROM system.databases": b"bi\n",
        "SELECT DISTINCT table_schema FROM information_schema.tables": b"bi\n",
        "SELECT count() > 100 FROM system.functions": b"1\n",
        "SELECT count() > 100 FROM system.settings": b"1\n"}


def test_sqlalchemy_inspector_lists_the_bi_views_as_a_tenant(toy) -> None:
    served, _ = toy
    password = served.password(f"tenant_{ME}")
    engine = sqlalchemy.create_engine(
        f"clickhousedb://tenant_{ME}:{password}@127.0.0.1:{served.port}/bi")
    try:
        inspector = sqlalchemy.inspect(engine)
        assert sorted(inspector.get_schema_names()) == ["bi"]
        names = inspector.get_table_names("bi") + inspector.get_view_names("bi")
        assert sorted(set(names)) == list(TOY_VIEWS)
        columns = [c["name"] for c in inspector.get_columns("kpi", "bi")]
        assert columns == ["tenant_id", "day", "v"]
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text("SELECT DISTINCT tenant_id FROM bi.kpi"))
            assert rows.fetchall() == [(ME,)]
    finally:
        engine.dispose()


def test_the_analyst_reads_every_tenant_and_nothing_else(toy) -> None:
    served, _ = toy
    status, _, body = request(served, "SELECT DISTINCT tenant_id FROM analytics.fct ORDER BY 1",
                              user="analyst")
    assert (status, body) == (200, b"tnt_a\ntnt_b\ntnt_c\n")
    for sql, code in (("INSERT INTO raw.secrets VALUES ('x')", b"164"),
                      ("CREATE TABLE raw.x (a UInt8) ENGINE = Memory", b"164"),
                      ("SELECT * FROM numbers(3)", b"497"),
                      ("SELECT file('/etc/passwd')", b"497"),
                      ("SELECT 1 INTO OUTFILE '/tmp/endpoint-analyst-out.txt'", b"497")):
        status, headers, body = request(served, sql, user="analyst")
        assert status != 200 and headers["x-clickhouse-exception-code"].encode() in (code, b"62"), (
            sql, body)
    status, _, _ = request(served, "SELECT 1", user="analyst", params={"readonly": "0"})
    assert status == 403


def test_a_tenant_cannot_bring_the_pushdown_back(toy) -> None:
    served, _ = toy
    for rule in EVALUATION_ORDER:
        default = "enable" if isinstance(rule.value, str) else "1"
        status, headers, _ = tenant_request(served, "SELECT count() FROM bi.kpi",
                                            params={rule.name: default})
        assert (status, headers["x-clickhouse-exception-code"]) == (403, "452"), rule.name
        status, headers, _ = tenant_request(
            served, f"SELECT count() FROM bi.kpi SETTINGS {rule.name} = '{default}'")
        assert (status, headers["x-clickhouse-exception-code"]) == (403, "164"), rule.name


def test_a_tenant_may_send_bi_settings_within_its_limits(toy) -> None:
    served, _ = toy
    status, _, body = tenant_request(
        served, "SELECT getSetting('max_execution_time'), getSetting('max_result_rows')",
        params={"max_execution_time": "65", "max_result_rows": "1000",
                "result_overflow_mode": "break", "session_timezone": "Europe/Berlin"})
    assert (status, body) == (200, b"65\t1000\n"), body
    status, headers, body = tenant_request(served, "SELECT 1",
                                           params={"max_execution_time": "100000"})
    assert (status, headers["x-clickhouse-exception-code"]) == (403, "452")


def _rowbinary_header(body: bytes) -> tuple[list[str], list[str]]:
    """RowBinaryWithNamesAndTypes' header, decoded from its description (LEB128 lengths)."""
    def varint(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = body[at]
            value |= (byte & 0x7F) << shift
            at, shift = at + 1, shift + 7
            if byte < 0x80:
                return value, at

    count, at = varint(0)
    strings = []
    for _ in range(2 * count):
        size, at = varint(at)
        strings.append(body[at:at + size].decode())
        at += size
    return strings[:count], strings[count:]


@pytest.mark.parametrize("where", ["1", "0"])
def test_a_tenant_reads_rowbinary_with_the_jdbc_drivers_framing(toy, where: str) -> None:
    """clickhouse-jdbc 0.8 (Metabase): `X-ClickHouse-Format: RowBinaryWithNamesAndTypes`,
    `compress=1`. The bytes equal what the engine writes for the same rows to the admin."""
    served, _ = toy

    sql = f"SELECT tenant_id, day, v FROM bi.kpi WHERE {where} ORDER BY ALL"
    status, headers, framed = tenant_request(
        served, sql, params={"compress": "1", "max_result_rows": "1000",
                             "result_overflow_mode": "break"},
        headers={"X-ClickHouse-Format": "RowBinaryWithNamesAndTypes"})
    assert status == 200 and headers["x-clickhouse-format"] == "RowBinaryWithNamesAndTypes"
    body = unframe(framed)
    _, _, expected = request(served, sql.replace(f"WHERE {where}", f"WHERE {where} AND "
                                                 f"tenant_id = '{ME}'"),
                             headers={"X-ClickHouse-Format": "RowBinaryWithNamesAndTypes"})
    assert body == expected
    assert _rowbinary_header(body) == (["tenant_id", "day", "v"], ["String", "Date", "UInt64"])
    assert (len(body) > 40) == (where == "1")


def test_native_with_a_protocol_revision_is_refused_by_name(toy) -> None:
    served, _ = toy
    status, headers, body = tenant_request(served, "SELECT 1", params={
        "default_format": "Native", "client_protocol_version": "54460"})
    assert (status, headers["x-clickhouse-exception-code"]) == (400, "36")
    assert b"drop client_protocol_version" in body
