"""Who may read what: the tenants, the tenant-scoped views, and the names their logins get."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
TENANT_COLUMN = "tenant_id"

TENANT_LOGIN_PREFIX = "tenant_"
TENANT_ROLE_PREFIX = "bi_tenant_"

# Tenant ids become parts of names and SQL literals: only these characters, ever.
_TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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


def row_filter(tenant_id: str) -> str:
    """The row-policy condition of a tenant: [A-Za-z0-9_-] only, so safe inside quotes."""
    return f"{TENANT_COLUMN} = '{check_tenant_id(tenant_id)}'"


@dataclass(frozen=True)
class AccessModel:
    tenants: tuple[str, ...]  # every tenant gets a login and a role
    tenant_scoped_views: tuple[str, ...]  # bi relations with a tenant_id column
    shared_views: tuple[str, ...]  # bi relations without one (anonymous benchmarks)

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
    from the `bi` database (a view is tenant-scoped exactly when it has a tenant_id column)."""
    relations = client.query(
        "SELECT name, name IN (SELECT table FROM system.columns "
        "                      WHERE database = {db:String} AND name = {col:String}) "
        "FROM system.tables WHERE database = {db:String} ORDER BY name",
        parameters={"db": BI_DATABASE, "col": TENANT_COLUMN},
    ).result_rows
    tenants = [
        row[0] for row in client.query(
            "SELECT DISTINCT tenant_id FROM analytics.dim_tenants ORDER BY tenant_id"
        ).result_rows
    ]
    bad = [t for t in tenants if not _TENANT_ID.fullmatch(t)]
    if bad:
        raise ValueError(f"tenant ids unusable as logins: {bad[:5]}")
    return AccessModel(
        tenants=tuple(tenants),
        tenant_scoped_views=tuple(name for name, scoped in relations if scoped),
        shared_views=tuple(name for name, scoped in relations if not scoped),
    )
