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
from support.attacks import (
    ERROR_CHANNELS,
    SETTING_CONSTRAINT_VIOLATION,
    SHAPES,
    probes,
    tenants_and_columns,
)

from saas_warehouse.settings import Settings
from serving.access.profile import EVALUATION_ORDER
from serving.access.sessions import analyst_session, tenant_session


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
    tenant, other, columns = tenants_and_columns(url)
    attempts = list(probes(other, columns))
    assert len(attempts) >= 8 * 4 * 5  # every scoped view, several columns each, four channels
    with analyst_session(url) as analyst:
        armed = _failures(analyst, attempts)
    # Armed: each probe fails where the other tenant's rows are visible.
    assert len(armed) == len(attempts), [p[:3] for p in attempts if p[:3] not in
                                       {a[:3] for a in armed}][:5]
    with tenant_session(url, tenant) as client:
        leaked = _failures(client, attempts)
    assert leaked == []


def test_no_error_from_another_tenants_rows_in_any_query_shape(
    built_warehouse: Settings,
) -> None:
    url = built_warehouse.warehouse_url
    tenant, other, columns = tenants_and_columns(url)
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
    tenant, other, columns = tenants_and_columns(url)
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
    tenant, _, _ = tenants_and_columns(url)
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
