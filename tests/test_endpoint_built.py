"""Through `serve`, on the built warehouse (its real `bi` views): a tenant's rows of every
view equal `query --tenant`'s (the in-process tenant session), the error side channel stays
closed for every view, column, channel and query shape (tests/test_tenant_side_channels.py's
probes, over HTTP), and the isolation suite's refusals hold (slow: the built warehouse)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.attacks import (
    ENGINE_REFUSES,
    ERROR_CHANNELS,
    SESSION_REFUSES,
    SHAPES,
    probes,
    tenants_and_columns,
    three_tenants,
)
from support.endpoint_server import Served, request, serving

from saas_warehouse.settings import Settings
from serving.access.sessions import access_model, tenant_session

REFUSED = [
    "SELECT count() FROM raw.product_events", "SELECT count() FROM staging.stg_product__events",
    "SELECT count() FROM analytics.fct_tenant_kpis_daily", "SELECT * FROM analytics.dim_tenants",
    "SELECT * FROM system.users", "SELECT * FROM system.row_policies",
    "SELECT count() FROM bi.kpi_tenant_daily SETTINGS readonly = 0",
    "SELECT count() FROM bi.kpi_tenant_daily SETTINGS additional_table_filters = "
    "{'bi.kpi_tenant_daily': '1'}",
    "SELECT count() FROM bi.kpi_tenant_daily SETTINGS max_execution_time = 0",
    "SELECT file('/proc/self/environ')", "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:1/x.csv', 'CSV', 'a String')",
    "SELECT * FROM executable('id', 'TSV', 'x String')", "SELECT * FROM numbers(1000000000)",
    "SELECT 1; SELECT 2", "INSERT INTO bi.kpi_tenant_daily (tenant_id) VALUES ('x')",
    "DROP VIEW bi.kpi_tenant_daily", "SET readonly = 0", "KILL QUERY WHERE 1",
    "SHOW CREATE TABLE bi.kpi_tenant_daily", "SELECT 1) UNION ALL (SELECT file('/etc/passwd')",
]


@pytest.fixture(scope="module")
def built(built_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Served, dict]]:
    url = built_warehouse.warehouse_url
    model = access_model(url)
    tenants = three_tenants(url)
    views = sorted((*model.tenant_scoped_views, *model.shared_views))
    rows = {}
    for tenant in tenants[:2]:
        with tenant_session(url, tenant) as session:
            for view in views:
                rows[(tenant, view)] = session.raw_query(
                    f"SELECT * FROM bi.{view} ORDER BY ALL", fmt="TabSeparatedWithNames")
    me, other, columns = tenants_and_columns(url)
    expected = {"rows": rows, "me": me, "other": other, "columns": columns}
    with serving(url, tmp_path_factory.mktemp("endpoint_built"), tuple(model.tenants)) as served:
        yield served, expected


def test_every_views_rows_equal_the_in_process_tenant_session(built) -> None:
    served, expected = built
    for (tenant, view), body in expected["rows"].items():
        status, _, got = request(served, f"SELECT * FROM bi.{view} ORDER BY ALL",
                                 user=f"tenant_{tenant}",
                                 params={"default_format": "TabSeparatedWithNames"})
        assert status == 200 and got == body, (tenant, view, got[:300])
        assert body.count(b"\n") > 1, (tenant, view)  # rows to compare, not two empty answers


def _errors(served: Served, user: str, queries: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    failed = []
    for *label, sql in queries:
        status, _, body = request(served, sql, user=user)
        if status != 200:
            failed.append((*label, body[:160].decode()))
    return failed


def test_no_error_from_another_tenants_rows_in_any_view_column_or_channel(built) -> None:
    served, expected = built
    attempts = list(probes(expected["other"], expected["columns"]))
    assert len(attempts) >= 8 * 4 * 5
    assert len(_errors(served, "analyst", attempts)) == len(attempts)  # armed
    assert _errors(served, f"tenant_{expected['me']}", attempts) == []


def test_no_error_from_another_tenants_rows_in_any_query_shape(built) -> None:
    served, expected = built
    other, queries = expected["other"], []
    for shape, query in sorted(SHAPES.items()):
        for view in sorted(expected["columns"]):
            for channel, template in ERROR_CHANNELS.items():
                probe = template.format(armed=f"tenant_id = '{other}'", value="toString(tenant_id)")
                probe_a = template.format(armed=f"a.tenant_id = '{other}'",
                                          value="toString(a.tenant_id)")
                queries.append((shape, view, channel,
                                query.format(view=view, probe=probe, probe_a=probe_a)))
    assert len(_errors(served, "analyst", queries)) == len(queries)
    assert _errors(served, f"tenant_{expected['me']}", queries) == []


def test_the_isolation_suites_refusals_hold_over_http(built) -> None:
    served, expected = built
    # Over HTTP a FORMAT clause names the output format, as on a ClickHouse server.
    suite = [sql for sql, _ in ENGINE_REFUSES] + [
        sql for sql in SESSION_REFUSES if sql != "SELECT 1 FORMAT JSON"]
    assert len(suite) > 40
    for sql in (*REFUSED, *suite):
        status, headers, body = request(served, sql, user=f"tenant_{expected['me']}")
        assert status != 200 and body.startswith(b"Code: "), (sql, body[:200])
    assert not Path("/tmp/tenant-out.txt").exists()
