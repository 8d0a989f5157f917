"""Who may read what: the tenant logins, the internal analysts, the tenant-scoped views."""

from __future__ import annotations

import re
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

# Owns the `bi` views (SQL SECURITY DEFINER): reads analytics on the readers' behalf, so
# readers need no grant below `bi`. It cannot log in.
BI_DEFINER = "bi_definer"
TENANT_ROLE = "bi_tenant"
ANALYST_ROLE = "bi_analyst"
TENANT_PROFILE = "bi_tenant_readonly"
BI_DATABASE = "bi"
TENANT_COLUMN = "tenant_id"

# Tenant ids become parts of user names and SQL literals: only these characters, ever.
_TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class UnknownTenantError(ValueError):
    """The tenant id is malformed or not a tenant of this warehouse."""


def check_tenant_id(tenant_id: str) -> str:
    if not _TENANT_ID.fullmatch(tenant_id):
        raise UnknownTenantError(
            f"malformed tenant id {tenant_id!r}: expected 1-64 letters, digits, '_' or '-'"
        )
    return tenant_id


def tenant_login(tenant_id: str) -> str:
    return f"tenant_{check_tenant_id(tenant_id)}".replace("-", "_")


@dataclass(frozen=True)
class AccessModel:
    tenants: tuple[str, ...]  # every tenant gets a login
    tenant_scoped_views: tuple[str, ...]  # bi relations with a tenant_id column
    shared_views: tuple[str, ...]  # bi relations without one (anonymous benchmarks)

    def require_tenant(self, tenant_id: str) -> str:
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
