"""No value of another tenant's rows reaches a tenant through an error (docs/bi.md, "Why no
other tenant's row reaches a tenant's expressions").

A property over every tenant-scoped `bi` view the warehouse has and every column of it, not
a list: an expression that fails only on another tenant's rows fails for the analyst (so the
probe is armed) and never for the tenant. Before the fix, the engine merged a tenant's WHERE
into the view's PREWHERE and ran it on every tenant's rows, and the error carried the
values out (`Cannot parse string 'tnt_b|2026-10-05|3911' as UInt8`).
"""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse
from serving.access.profile import EVALUATION_ORDER
from serving.access.sessions import access_model, analyst_session, tenant_session

SETTING_CONSTRAINT_VIOLATION = 452

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


def _tenants_and_columns(url: str) -> tuple[str, str, dict[str, list[str]]]:
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


def _probes(other: str, columns: dict[str, list[str]]):
    for view, names in sorted(columns.items()):
        for column in names:
            for channel, template in ERROR_CHANNELS.items():
                probe = template.format(armed=f"tenant_id = '{other}'",
                                        value=f"ifNull(toString({column}), 'NULL')")
                yield view, column, channel, SHAPES["where"].format(view=view, probe=probe)


def _failures(client, queries: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    failed = []
    for *label, sql in queries:
        try:
            client.query(sql)
        except DatabaseError as e:
            failed.append((*label, str(e)[:160]))
    return failed


def test_no_error_from_another_tenants_rows_in_any_view_column_or_channel(
    built_warehouse: Settings,
) -> None:
    url = built_warehouse.warehouse_url
    tenant, other, columns = _tenants_and_columns(url)
    probes = list(_probes(other, columns))
    assert len(probes) >= 8 * 4 * 5  # every scoped view, several columns each, four channels
    with analyst_session(url) as analyst:
        armed = _failures(analyst, probes)
    # Armed: each probe fails where the other tenant's rows are visible.
    assert len(armed) == len(probes), [p[:3] for p in probes if p[:3] not in
                                       {a[:3] for a in armed}][:5]
    with tenant_session(url, tenant) as client:
        leaked = _failures(client, probes)
    assert leaked == []


def test_no_error_from_another_tenants_rows_in_any_query_shape(
    built_warehouse: Settings,
) -> None:
    url = built_warehouse.warehouse_url
    tenant, other, columns = _tenants_and_columns(url)
    queries = []
    for shape, query in sorted(SHAPES.items()):
        for view in sorted(columns):
            for channel, template in ERROR_CHANNELS.items():
                probe = template.format(armed=f"tenant_id = '{other}'",
                                        value="toString(tenant_id)")
                probe_a = template.format(armed=f"a.tenant_id = '{other}'",
                                          value="toString(a.tenant_id)")
                queries.append((shape, view, channel,
                                query.format(view=view, probe=probe, probe_a=probe_a)))
    with analyst_session(url) as analyst:
        assert len(_failures(analyst, queries)) == len(queries)
    with tenant_session(url, tenant) as client:
        assert _failures(client, queries) == []


def test_the_policy_filter_runs_below_every_tenant_expression(built_warehouse: Settings) -> None:
    """The mechanism, read from the engine's plan for every scoped view: the row-level
    security filter is its own step, below the step of the tenant's WHERE, and nothing the
    tenant wrote reaches PREWHERE."""
    url = built_warehouse.warehouse_url
    tenant, other, columns = _tenants_and_columns(url)
    marker = f"'{other}'"
    with tenant_session(url, tenant) as client:
        engine = client._client  # EXPLAIN is refused through the guard; same engine, same login
        for view in sorted(columns):
            probe = f"throwIf(length(toString({columns[view][-1]})) = 0) = 0"
            plan = [r[0] for r in engine.query(
                f"EXPLAIN PLAN SELECT count() FROM bi.{view} WHERE tenant_id = {marker} "
                f"AND {probe}").result_rows]
            steps = [line for line in plan if "Filter" in line]
            policy = [i for i, line in enumerate(plan) if "Row-level security filter" in line]
            where = [i for i, line in enumerate(plan)
                     if line.lstrip(" │└─").startswith("Filter ((WHERE")]
            assert policy and where, (view, plan)
            # EXPLAIN lists the top of the plan first: the tenant's WHERE (the topmost) above
            # the policy (a view's own WHERE may sit below it).
            assert len(policy) == 1 and min(where) < policy[0], (view, plan)
            assert not any("Row-level security filter" in line and "WHERE + Change" in line
                           for line in steps), (view, plan)
            assert not any("Prewhere" in line for line in plan), (view, plan)


def test_a_tenant_cannot_bring_the_pushdown_back(built_warehouse: Settings) -> None:
    url = built_warehouse.warehouse_url
    tenant, _, _ = _tenants_and_columns(url)
    with tenant_session(url, tenant) as client:
        for rule in EVALUATION_ORDER:
            default = "'enable'" if isinstance(rule.value, str) else "1"
            with pytest.raises(DatabaseError) as refused:
                client.query("SELECT count() FROM bi.kpi_tenant_daily "
                             f"SETTINGS {rule.name} = {default}")
            assert f"Code: {SETTING_CONSTRAINT_VIOLATION}" in str(refused.value), rule.name
            with pytest.raises(DatabaseError):
                client.query("SELECT count() FROM bi.kpi_tenant_daily",
                             settings={rule.name: default.strip("'")})
