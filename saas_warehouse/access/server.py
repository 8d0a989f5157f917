"""Idempotent access DDL for a ClickHouse server: roles, users, grants and row policies.

Every statement is safe to apply again (IF NOT EXISTS, OR REPLACE, GRANT), so applying the
plan twice changes nothing. Row-policy pitfalls handled here:
- once a table has a row policy, users without one see no rows: each scoped view gets an
  all-rows policy for everyone except the tenant logins (admins, analysts, the definer);
- a tenant's permissive policy is the only one that applies to it, so it sees its rows only;
- policies sit on the `bi` views themselves: through a SQL SECURITY DEFINER view the
  definer's policies would apply to the base tables, not the reader's.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from saas_warehouse.access.model import (
    ANALYST_ROLE,
    BI_DATABASE,
    BI_DEFINER,
    TENANT_COLUMN,
    TENANT_PROFILE,
    TENANT_ROLE,
    AccessModel,
    check_tenant_id,
    tenant_login,
)

ANALYST_DATABASES = ("raw", "staging", "analytics", "bi")
DEFINER_DATABASES = ("staging", "analytics")
ALL_ROWS_POLICY = "all_rows_except_tenants"


@dataclass(frozen=True)
class Statement:
    sql: str  # may carry a password hash: print `shown` instead
    shown: str


def _plain(sql: str) -> Statement:
    return Statement(sql, sql)


def _password_clause(password: str, salt: str) -> tuple[str, str]:
    digest = hashlib.sha256((password + salt).encode()).hexdigest()
    clause = f"IDENTIFIED WITH sha256_hash BY '{digest}' SALT '{salt}'"
    return clause, "IDENTIFIED WITH sha256_hash BY '<redacted>' SALT '<redacted>'"


def access_plan(model: AccessModel, passwords: Mapping[str, str]) -> list[Statement]:
    """The DDL for `model`. Tenants without a password in `passwords` get no login."""
    plan = [
        _plain(f"CREATE USER IF NOT EXISTS {BI_DEFINER} IDENTIFIED WITH no_password HOST NONE"),
        *(_plain(f"GRANT SELECT ON {db}.* TO {BI_DEFINER}") for db in DEFINER_DATABASES),
        _plain(
            f"CREATE SETTINGS PROFILE IF NOT EXISTS {TENANT_PROFILE} "
            "SETTINGS readonly = 1 CONST"
        ),
        _plain(f"CREATE ROLE IF NOT EXISTS {TENANT_ROLE}"),
        _plain(f"GRANT SELECT ON {BI_DATABASE}.* TO {TENANT_ROLE}"),
        _plain(f"CREATE ROLE IF NOT EXISTS {ANALYST_ROLE}"),
        *(_plain(f"GRANT SELECT ON {db}.* TO {ANALYST_ROLE}") for db in ANALYST_DATABASES),
    ]
    logins = sorted(t for t in model.tenants if t in passwords)
    for tenant in logins:
        user = tenant_login(tenant)
        clause, shown = _password_clause(passwords[tenant], secrets.token_hex(8))
        # CREATE … IF NOT EXISTS keeps an existing password: rotation is an explicit ALTER.
        create = (
            f"CREATE USER IF NOT EXISTS {user} {{auth}} "
            f"DEFAULT ROLE {TENANT_ROLE} SETTINGS PROFILE '{TENANT_PROFILE}'"
        )
        plan.append(Statement(create.format(auth=clause), create.format(auth=shown)))
        plan.append(_plain(f"GRANT {TENANT_ROLE} TO {user}"))
        plan.append(
            _plain(
                f"ALTER USER {user} DEFAULT ROLE {TENANT_ROLE} "
                f"SETTINGS PROFILE '{TENANT_PROFILE}'"
            )
        )
    for view in model.tenant_scoped_views:
        target = f"{BI_DATABASE}.{view}"
        except_tenants = ", ".join(tenant_login(t) for t in logins)
        everyone = f"ALL EXCEPT {except_tenants}" if logins else "ALL"
        plan.append(
            _plain(
                f"CREATE ROW POLICY OR REPLACE {ALL_ROWS_POLICY} ON {target} "
                f"AS PERMISSIVE FOR SELECT USING 1 TO {everyone}"
            )
        )
        for tenant in logins:
            literal = check_tenant_id(tenant)  # [A-Za-z0-9_-] only: safe inside quotes
            plan.append(
                _plain(
                    f"CREATE ROW POLICY OR REPLACE {tenant_login(tenant)} ON {target} "
                    f"AS PERMISSIVE FOR SELECT USING {TENANT_COLUMN} = '{literal}' "
                    f"TO {tenant_login(tenant)}"
                )
            )
    return plan


def stale_logins(existing_users: list[str], model: AccessModel, passwords: Mapping[str, str]):
    """Tenant logins on the server whose tenant is gone or has no password any more."""
    wanted = {tenant_login(t) for t in model.tenants if t in passwords}
    return sorted(u for u in existing_users if u.startswith("tenant_") and u not in wanted)
