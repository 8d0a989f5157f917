"""Whose rows a `bi` view holds is declared, never guessed from a column's name (issue 24):
the dbt build refuses a `bi` model without a declaration, the declaration reaches the access
model as the view's comment (a server has no dbt manifest), and a `bi` relation without a
usable one is readable by no tenant, on either engine (docs/contract.md §6)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.dbt_cli import REPO_ROOT, dbt, ok, query, write

from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse
from serving.access.apply import apply_access
from serving.access.embedded import tenant_users
from serving.access.limits import TenantLimits
from serving.access.model import (
    SCOPE_KEY,
    SHARED_SCOPE,
    declared_scope,
    row_filter,
    scope_comment,
    tenant_login,
)
from serving.access.server import DEFAULT_DENY_POLICY, SHARED_POLICY, access_plan
from serving.access.sessions import access_model, tenant_session

KPIS = "analytics.fct_tenant_kpis_daily"
# Views an engineer might add to bi by hand, beside the dbt-built ones.
HAND_VIEWS = {
    # tenant data under another name, declared: filtered on customer_id
    "zz_declared_customers": ("tenant_id AS customer_id, dau", scope_comment("customer_id")),
    # the same, undeclared: once shared with every tenant on a server, unfiltered embedded
    "zz_undeclared_customers": ("tenant_id AS customer_id, dau", ""),
    # undeclared although it has tenant_id: a name is not a declaration
    "zz_undeclared_tenants": ("tenant_id, dau", ""),
    # declared on a column it does not have
    "zz_missing_column": ("tenant_id, dau", scope_comment("customer_id")),
}
UNREADABLE = {"zz_undeclared_customers", "zz_undeclared_tenants", "zz_missing_column"}


def test_only_the_exact_comment_declares_a_scope() -> None:
    assert declared_scope(scope_comment("tenant_id")) == "tenant_id"
    assert declared_scope(f"{SCOPE_KEY}: {SHARED_SCOPE}") == SHARED_SCOPE
    for comment in ("", "tenant_id", "Daily KPIs per tenant.", f"{SCOPE_KEY}:tenant_id",
                    f"{SCOPE_KEY}: tenant_id\n", f"{SCOPE_KEY}: tenant_id = tenant_id",
                    f"{SCOPE_KEY}: `tenant_id`", f"{SCOPE_KEY}: 1tenant", f" {SCOPE_KEY}: a"):
        assert declared_scope(comment) is None, comment
    assert row_filter("tnt_a", "customer_id") == "customer_id = 'tnt_a'"
    with pytest.raises(ValueError, match="not a column name"):
        row_filter("tnt_a", "1 OR 1")


# --- the dbt build ---------------------------------------------------------------------------

def _project_copy(root: Path) -> Path:
    """The dbt project with what its paths reach (../macros, ../seeds, the engine's users
    config), copied without target/ and logs/: tracked files are never touched."""
    for name in ("macros", "seeds"):
        shutil.copytree(REPO_ROOT / name, root / name)
    users = root / "saas_warehouse" / "chdb"
    users.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "saas_warehouse" / "chdb" / "engine_users.xml", users)
    shutil.copytree(REPO_ROOT / "dbt_project", root / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs"))
    return root / "dbt_project"


@pytest.mark.slow
def test_the_dbt_build_refuses_a_bi_model_without_a_declaration(tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "repo")
    warehouse = tmp_path / "wh"
    env = {"WAREHOUSE_URL": f"chdb://{warehouse}"}
    write(project / "models" / "bi", {
        "zz_customers.sql": "select 'tnt_a' as customer_id, 1 as orders\n",
        "zz_undeclared.sql": "select 'tnt_a' as customer_id, 1 as orders\n",
        "zz_misdeclared.sql": "select 'tnt_a' as customer_id, 1 as orders\n",
        "_zz__models.yml": """
            version: 2
            models:
              - name: zz_customers
                config: {meta: {tenant_scope: customer_id}}
                columns: [{name: customer_id}, {name: orders}]
              - name: zz_misdeclared
                config: {meta: {tenant_scope: tenant_id}}
                columns: [{name: customer_id}, {name: orders}]
        """,
    })

    refused = dbt(["run", "--select", "zz_customers"], project, tmp_path, **env)
    out = refused.stdout
    assert refused.returncode != 0, out[-3000:]
    assert "bi.zz_undeclared (models/bi/zz_undeclared.sql) declares no tenant_scope" in out
    assert f"`{SCOPE_KEY}: {SHARED_SCOPE}`" in out  # dbt and Python spell it alike
    assert ("bi.zz_misdeclared (models/bi/zz_misdeclared.sql) tenant_scope tenant_id is not "
            "one of its documented columns") in out
    assert "zz_customers (" not in out  # the declared one is not named
    assert "kpi_tenant_daily (" not in out  # nor any of the project's own
    # The build stopped before it ran anything.
    assert "OK created" not in out
    assert query(warehouse, "select count() from system.tables where database = 'bi'") == [(0,)]

    for name in ("zz_undeclared.sql", "zz_misdeclared.sql"):
        (project / "models" / "bi" / name).unlink()
    ok(dbt(["run", "--select", "zz_customers"], project, tmp_path, **env))
    [(comment,)] = query(warehouse, "select comment from system.tables "
                                    "where database = 'bi' and name = 'zz_customers'")
    assert declared_scope(comment) == "customer_id"
    # A rebuild replaces the view (CREATE OR REPLACE drops its comment) and declares it again.
    ok(dbt(["run", "--select", "zz_customers"], project, tmp_path, **env))
    assert query(warehouse, "select comment from system.tables "
                            "where database = 'bi' and name = 'zz_customers'") == [(comment,)]


# --- the access model on the built warehouse --------------------------------------------------

@pytest.fixture(scope="module")
def hand_views(built_warehouse: Settings) -> Iterator[str]:
    """HAND_VIEWS created in the built warehouse's bi (as dbt would: owned by bi_definer),
    dropped afterwards."""
    url = built_warehouse.warehouse_url
    with open_warehouse(url) as admin:
        for name, (columns, comment) in HAND_VIEWS.items():
            admin.command(
                f"CREATE VIEW bi.{name} DEFINER = bi_definer SQL SECURITY DEFINER "
                f"AS SELECT {columns} FROM {KPIS} COMMENT '{comment}'")
    try:
        yield url
    finally:
        with open_warehouse(url) as admin:
            for name in HAND_VIEWS:
                admin.command(f"DROP VIEW IF EXISTS bi.{name}")


@pytest.fixture(scope="module")
def tenant_counts(built_warehouse: Settings) -> dict[str, int]:
    with open_warehouse(built_warehouse.warehouse_url) as admin:
        return dict(admin.query(f"SELECT tenant_id, count() FROM {KPIS} GROUP BY tenant_id"
                                ).result_rows)


def test_the_built_views_carry_their_declarations(built_warehouse: Settings) -> None:
    model = access_model(built_warehouse.warehouse_url)
    assert model.unreadable_views == {}
    assert set(model.tenant_columns.values()) == {"tenant_id"}
    assert model.shared_views == ("benchmarks_daily",)


def test_the_access_model_reads_each_declaration(hand_views: str) -> None:
    model = access_model(hand_views)
    assert model.tenant_columns["zz_declared_customers"] == "customer_id"
    assert set(model.unreadable_views) == UNREADABLE
    assert "declares no tenant_scope" in model.unreadable_views["zz_undeclared_tenants"]
    assert "customer_id is not one of its columns" in model.unreadable_views["zz_missing_column"]


def test_a_view_declared_on_customer_id_is_filtered_on_it(
    hand_views: str, tenant_counts: dict[str, int]
) -> None:
    tenant = max(tenant_counts, key=tenant_counts.__getitem__)
    with tenant_session(hand_views, tenant) as client:
        rows = client.query("SELECT customer_id, count() FROM bi.zz_declared_customers "
                            "GROUP BY customer_id").result_rows
    assert rows == [(tenant, tenant_counts[tenant])]


def test_a_bi_view_without_a_usable_declaration_is_readable_by_no_tenant(
    hand_views: str, tenant_counts: dict[str, int]
) -> None:
    tenant = min(tenant_counts, key=tenant_counts.__getitem__)
    with tenant_session(hand_views, tenant) as client:
        for name in sorted(UNREADABLE):
            # No error, no rows: as a server's default-deny policy shows it.
            assert client.query(f"SELECT count() FROM bi.{name}").result_rows == [(0,)], name
        # The declared views are unaffected.
        assert client.query("SELECT count() FROM bi.kpi_tenant_daily").result_rows[0][0] > 0
    with open_warehouse(hand_views) as admin:  # the rows are there for the admin
        assert admin.query("SELECT count() FROM bi.zz_undeclared_customers"
                           ).result_rows[0][0] == sum(tenant_counts.values())


def _parse(client, statement: str) -> str:
    return client.query("SELECT formatQuery({q:String})", parameters={"q": statement}
                        ).result_rows[0][0]


def test_the_server_ddl_filters_each_view_on_its_declared_column(
    hand_views: str, capsys: pytest.CaptureFixture[str]
) -> None:
    model = access_model(hand_views)
    tenant = model.tenants[0]
    plan = access_plan(model, {tenant: "pw"}, TenantLimits())
    with open_warehouse(hand_views) as admin:
        parsed = [_parse(admin, s.sql) for s in plan]
    policies = [p for p in parsed if p.startswith("CREATE ROW POLICY")]
    tenant_policies = {}
    for policy in policies:
        match = re.fullmatch(r"CREATE ROW POLICY OR REPLACE (\S+) ON (.*) AS PERMISSIVE "
                             r"FOR SELECT USING (.*) TO (\S+)", policy)
        assert match, policy
        name, tables, condition, _ = match.groups()
        if name.strip("`") == tenant_login(tenant):
            for table in tables.split(", "):
                tenant_policies[table] = condition
        for view in UNREADABLE:  # only the deny (ON bi.*) reaches them
            assert f"bi.{view}" not in tables.split(", "), policy
    assert tenant_policies["bi.zz_declared_customers"] == f"customer_id = '{tenant}'"
    assert tenant_policies["bi.kpi_tenant_daily"] == f"tenant_id = '{tenant}'"
    assert set(tenant_policies) == {f"bi.{v}" for v in model.tenant_scoped_views}
    # One statement per tenant column, whatever the number of views.
    assert len([p for p in policies if tenant_login(tenant) in p]) == 2
    assert any(DEFAULT_DENY_POLICY in p and " ON bi.* " in p and "USING 0 " in p
               for p in policies)
    shared = next(p for p in policies if SHARED_POLICY in p)
    assert " ON bi.benchmarks_daily AS " in shared

    # The embedded rendering filters the same views on the same columns, the others to none.
    users = tenant_users(model, tenant, TenantLimits(), engine_settings=["max_threads"])
    filters = {f"bi.{view.tag}": view.findtext("filter")
               for view in users.find("users/default/databases/bi")}
    assert {t: f for t, f in filters.items() if f != "0"} == tenant_policies
    assert {t for t, f in filters.items() if f == "0"} == {f"bi.{v}" for v in UNREADABLE}

    # `access apply --dry-run` says which views no tenant can read, and why.
    apply_access(hand_views, dry_run=True, passwords_file=None, limits=TenantLimits())
    err = capsys.readouterr().err
    for view in UNREADABLE:
        assert f"note: bi.{view} is readable by no tenant: " in err
