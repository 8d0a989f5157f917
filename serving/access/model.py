"""Who may read what: the tenants, the tenant-scoped views, and the names their logins get."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

# Owns the `bi` views (SQL SECURITY DEFINER): reads analytics on the readers' behalf, so
# readers need no grant below `bi`. It cannot log in.
BI_DEFINER = "bi_definer"
DEFINER_DATABASES = ("staging", "analytics")  # what the bi views read
TENANT_ROLE = "bi_tenant"  # every tenant's role inherits it: SELECT on bi, quota, deny-by-default
ANALYST_ROLE = "bi_analyst"
TENANT_PROFILE = "bi_tenant_profile"
TENANT_QUOTA = "bi_tenant_quota"
# A service login for BI tools that impersonate a role per tenant (Metabase's connection
# impersonation): granted every tenant role, default role none, so it sees nothing until it
# runs `SET ROLE bi_tenant_<id>`.
IMPERSONATION_LOGIN = "bi_impersonation"
BI_DATABASE = "bi"
# The system tables a tenant may read: what BI tools list the `bi` views with (the engine
# shows each only the objects the login may read). Every other system or information_schema
# table is refused (paths, other databases' parts, processes, logs, stack traces).
TENANT_SYSTEM_TABLES = {
    "system": ("one", "databases", "tables", "columns", "functions", "settings",
               "data_type_families", "time_zones"),
    "information_schema": ("schemata", "tables", "columns", "views"),
}

# Every `bi` model declares whose rows it holds, in dbt: `config: {meta: {tenant_scope: <the
# column that holds the tenant id>}}`, or `tenant_scope: shared` for a view that holds no
# tenant's rows (anonymous benchmarks). The dbt build refuses a `bi` model without one and
# writes it as the view's comment, `tenant_scope: <column>` (macros/tenant_scope.sql spells
# these two words too; tests/test_tenant_scope.py keeps them equal), which is what the access
# model reads: a server has no dbt manifest. A `bi` relation without a declaration, or whose
# declared column it lacks, is readable by no tenant.
SCOPE_KEY = "tenant_scope"
SHARED_SCOPE = "shared"
_IDENTIFIER = "[A-Za-z_][A-Za-z0-9_]*"  # a tenant column: printed unquoted in row filters
_COLUMN = re.compile(_IDENTIFIER)
_DECLARATION = re.compile(rf"{SCOPE_KEY}: ({_IDENTIFIER})")

TENANT_LOGIN_PREFIX = "tenant_"
TENANT_ROLE_PREFIX = "bi_tenant_"

# Tenant ids become parts of names and SQL literals: only these characters, ever.
TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TENANT_ID = TENANT_ID


class UnknownTenantError(ValueError):
    """The tenant id is empty, malformed or not a tenant of this warehouse."""


def check_tenant_id(tenant_id: str) -> str:
    if not isinstance(tenant_id, str) or not _TENANT_ID.fullmatch(tenant_id):
        raise UnknownTenantError(
            f"malformed tenant id {tenant_id!r}: expected 1-64 letters, digits, '_' or '-'"
        )
    return tenant_id


# Names are the prefix plus the id itself (quoted where used in SQL): injective by
# construction, so two tenant ids can never share a login, a role or a row policy.
def tenant_login(tenant_id: str) -> str:
    return TENANT_LOGIN_PREFIX + check_tenant_id(tenant_id)


def tenant_role(tenant_id: str) -> str:
    return TENANT_ROLE_PREFIX + check_tenant_id(tenant_id)


def row_filter(tenant_id: str, column: str) -> str:
    """The row-policy condition of a tenant on a view whose tenant id is in `column`: the id
    is [A-Za-z0-9_-] only, so safe inside quotes; the column an identifier."""
    if not _COLUMN.fullmatch(column):
        raise ValueError(f"not a column name: {column!r}")
    return f"{column} = '{check_tenant_id(tenant_id)}'"


def scope_comment(scope: str) -> str:
    """The comment that declares a `bi` view's scope (what the dbt build writes)."""
    return f"{SCOPE_KEY}: {scope}"


def declared_scope(comment: str) -> str | None:
    """The scope a view's comment declares (a column name or SHARED_SCOPE), else None."""
    match = _DECLARATION.fullmatch(comment)
    return match[1] if match else None


@dataclass(frozen=True)
class AccessModel:
    tenants: tuple[str, ...]  # every tenant gets a login and a role
    tenant_columns: Mapping[str, str]  # tenant-scoped bi relation → its tenant id column
    shared_views: tuple[str, ...]  # declared shared: every tenant reads every row
    # bi relations no tenant may read a row of, with why: no declaration, or the declared
    # column is not one of the relation's.
    unreadable_views: Mapping[str, str] = field(default_factory=dict)

    @property
    def tenant_scoped_views(self) -> tuple[str, ...]:
        return tuple(self.tenant_columns)

    def views_by_column(self) -> dict[str, tuple[str, ...]]:
        """The tenant-scoped views grouped by their tenant column, columns in name order."""
        groups: dict[str, list[str]] = {}
        for view, column in self.tenant_columns.items():
            groups.setdefault(column, []).append(view)
        return {column: tuple(groups[column]) for column in sorted(groups)}

    def require_tenant(self, tenant_id: str | None) -> str:
        if tenant_id is None:
            raise UnknownTenantError("no tenant given")
        check_tenant_id(tenant_id)
        if tenant_id not in self.tenants:
            raise UnknownTenantError(
                f"unknown tenant {tenant_id!r}: no such tenant in the warehouse"
            )
        return tenant_id


def read_access_model(client: Client) -> AccessModel:
    """The model as the warehouse defines it now: tenants from the tenants dimension, views
    from the `bi` database, each with the scope its comment declares (see SCOPE_KEY)."""
    parameters = {"db": BI_DATABASE}
    relations = client.query(
        "SELECT name, comment FROM system.tables WHERE database = {db:String} ORDER BY name",
        parameters=parameters,
    ).result_rows
    columns = {(table, column) for table, column in client.query(
        "SELECT table, name FROM system.columns WHERE database = {db:String}",
        parameters=parameters,
    ).result_rows}
    tenant_columns: dict[str, str] = {}
    shared: list[str] = []
    unreadable: dict[str, str] = {}
    for name, comment in relations:
        scope = declared_scope(comment)
        if scope is None:
            unreadable[name] = f"its comment declares no {SCOPE_KEY}"
        elif scope == SHARED_SCOPE:
            shared.append(name)
        elif (name, scope) not in columns:
            unreadable[name] = f"its declared tenant column {scope} is not one of its columns"
        else:
            tenant_columns[name] = scope
    tenants = [
        row[0] for row in client.query(
            "SELECT DISTINCT tenant_id FROM analytics.dim_tenants ORDER BY tenant_id"
        ).result_rows
    ]
    bad = [t for t in tenants if not _TENANT_ID.fullmatch(t)]
    if bad:
        raise ValueError(f"tenant ids unusable as logins: {bad[:5]}")
    return AccessModel(tenants=tuple(tenants), tenant_columns=tenant_columns,
                       shared_views=tuple(shared), unreadable_views=unreadable)
