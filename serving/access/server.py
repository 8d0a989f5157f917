"""The access model as DDL for a ClickHouse server: roles, users, profile, quota, policies.

Every statement is safe to apply again and repairs drift: entities are created if missing,
then set to the wanted state (`ALTER … SETTINGS` replaces the whole settings list, `GRANT …
WITH REPLACE OPTION` replaces a grantee's privileges, row policies are `OR REPLACE`d).

Row policies, all on the `bi` views (through a SQL SECURITY DEFINER view the definer's
policies would apply to the base tables, not the reader's):
- `bi_tenant_default_deny ON bi.* USING 0 TO bi_tenant`: every `bi` relation, including one
  created after the last apply, shows a tenant no rows until a policy says otherwise;
- per tenant, one policy `USING <column> = '<id>'` on the tenant-scoped views, each on the
  column the view declares as its tenant's (one statement per such column), to that tenant's
  role (policies are permissive: OR-ed with the deny, so the tenant sees its rows);
- `bi_tenant_shared` on the views declared shared (benchmarks), to every tenant;
- `bi_analyst_all_rows ON bi.* USING 1 TO bi_analyst`.
A `bi` relation without a usable scope declaration (model.py, SCOPE_KEY) gets no policy but
the deny: no tenant reads a row of it.
No statement grows with the number of tenants: a tenant costs a role, a user, a policy per
tenant column and three grants, each of constant size.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from saas_warehouse.contract import DATABASES
from serving.access.limits import TenantLimits
from serving.access.model import (
    ANALYST_ROLE,
    BI_DATABASE,
    BI_DEFINER,
    DEFINER_DATABASES,
    IMPERSONATION_LOGIN,
    TENANT_LOGIN_PREFIX,
    TENANT_PROFILE,
    TENANT_QUOTA,
    TENANT_ROLE,
    TENANT_ROLE_PREFIX,
    TENANT_SYSTEM_TABLES,
    AccessModel,
    row_filter,
    tenant_login,
    tenant_role,
)
from serving.access.profile import SettingRule, tenant_profile, tenant_quota

DEFAULT_DENY_POLICY = "bi_tenant_default_deny"
SHARED_POLICY = "bi_tenant_shared"
ANALYST_POLICY = "bi_analyst_all_rows"
# The key of the impersonation login's password in the passwords file (not a tenant id).
IMPERSONATION_PASSWORD_KEY = "@impersonation"


@dataclass(frozen=True)
class Statement:
    sql: str  # may carry a password hash: print `shown` instead
    shown: str


def _plain(sql: str) -> Statement:
    return Statement(sql, sql)


def quoted(name: str) -> str:
    """A name as a ClickHouse identifier (names here are [A-Za-z0-9_-] only)."""
    return f"`{name}`"


def _value(value: int | str) -> str:
    return str(value) if isinstance(value, int) else f"'{value}'"


def setting_clause(rule: SettingRule) -> str:
    """`name [= value] [MIN m] [MAX M] CONST|CHANGEABLE_IN_READONLY` (server syntax)."""
    parts = [rule.name]
    if rule.value is not None:
        parts.append(f"= {_value(rule.value)}")
    if rule.min is not None:
        parts.append(f"MIN {rule.min}")
    if rule.max is not None:
        parts.append(f"MAX {rule.max}")
    parts.append("CHANGEABLE_IN_READONLY" if rule.changeable else "CONST")
    return " ".join(parts)


def _identified(password: str) -> tuple[str, str]:
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((password + salt).encode()).hexdigest()
    return (f"IDENTIFIED WITH sha256_hash BY '{digest}' SALT '{salt}'",
            "IDENTIFIED WITH sha256_hash BY '<redacted>' SALT '<redacted>'")


def _create_login(user: str) -> Statement:
    # Created unable to log in; the ALTER below sets its password and opens it.
    return _plain(f"CREATE USER IF NOT EXISTS {user} IDENTIFIED WITH no_password HOST NONE")


def _alter_login(user: str, password: str, rest: str) -> Statement:
    clause, shown = _identified(password)
    alter = f"ALTER USER {user} {{auth}} HOST ANY {rest}"
    return Statement(alter.format(auth=clause), alter.format(auth=shown))


def shared_plan(model: AccessModel, limits: TenantLimits) -> list[Statement]:
    """Everything that does not depend on the tenants: definer, roles, profile, quota, the
    deny-by-default and shared-view policies."""
    profile = ", ".join(setting_clause(r) for r in tenant_profile(limits))
    quota = tenant_quota(limits)
    plan = [
        _create_login(BI_DEFINER),  # never opened: it only owns the bi views
        _plain(f"GRANT SELECT ON {DEFINER_DATABASES[0]}.*, SELECT ON {DEFINER_DATABASES[1]}.* "
               f"TO {BI_DEFINER} WITH REPLACE OPTION"),
        _plain(f"CREATE ROLE IF NOT EXISTS {TENANT_ROLE}"),
        # With `select_from_system_db_requires_grant` on (docs/bi.md), these are the only system
        # tables a tenant reads; one statement, since WITH REPLACE OPTION replaces the rest.
        _plain(f"GRANT SELECT ON {BI_DATABASE}.*, "
               + ", ".join(f"SELECT ON {db}.{table}" for db, tables in
                           TENANT_SYSTEM_TABLES.items() for table in tables)
               + f" TO {TENANT_ROLE} WITH REPLACE OPTION"),
        _plain(f"CREATE ROLE IF NOT EXISTS {ANALYST_ROLE}"),
        _plain("GRANT " + ", ".join(f"SELECT ON {db}.*" for db in DATABASES)
               + f" TO {ANALYST_ROLE} WITH REPLACE OPTION"),
        _plain(f"CREATE SETTINGS PROFILE IF NOT EXISTS {TENANT_PROFILE}"),
        _plain(f"ALTER SETTINGS PROFILE {TENANT_PROFILE} SETTINGS {profile} TO {TENANT_ROLE}"),
        _plain(f"CREATE QUOTA IF NOT EXISTS {TENANT_QUOTA}"),
        _plain(
            f"ALTER QUOTA {TENANT_QUOTA} KEYED BY user_name "
            f"FOR INTERVAL {quota.interval_seconds} second MAX queries = {quota.queries}, "
            f"read_rows = {quota.read_rows}, execution_time = {quota.execution_time} "
            f"TO {TENANT_ROLE}"
        ),
        _plain(f"CREATE ROW POLICY OR REPLACE {DEFAULT_DENY_POLICY} ON {BI_DATABASE}.* "
               f"AS PERMISSIVE FOR SELECT USING 0 TO {TENANT_ROLE}"),
        _plain(f"CREATE ROW POLICY OR REPLACE {ANALYST_POLICY} ON {BI_DATABASE}.* "
               f"AS PERMISSIVE FOR SELECT USING 1 TO {ANALYST_ROLE}"),
    ]
    if model.shared_views:
        plan.append(_plain(
            f"CREATE ROW POLICY OR REPLACE {SHARED_POLICY} ON {_views(model.shared_views)} "
            f"AS PERMISSIVE FOR SELECT USING 1 TO {TENANT_ROLE}"
        ))
    return plan


def _views(views: Sequence[str]) -> str:
    return ", ".join(f"{BI_DATABASE}.{view}" for view in views)


def tenant_plan(model: AccessModel, tenant: str, password: str | None) -> list[Statement]:
    """One tenant: its role (inheriting bi_tenant), its row policy, and its login when it has
    a password. A tenant without one is still a role, for impersonation."""
    role = quoted(tenant_role(tenant))
    plan = [
        _plain(f"CREATE ROLE IF NOT EXISTS {role}"),
        _plain(f"GRANT {TENANT_ROLE} TO {role} WITH REPLACE OPTION"),
    ]
    for column, views in model.views_by_column().items():
        plan.append(_plain(
            f"CREATE ROW POLICY OR REPLACE {quoted(tenant_login(tenant))} "
            f"ON {_views(views)} AS PERMISSIVE FOR SELECT "
            f"USING {row_filter(tenant, column)} TO {role}"
        ))
    if password is not None:
        user = quoted(tenant_login(tenant))
        plan += [
            _create_login(user),
            _plain(f"GRANT {role} TO {user} WITH REPLACE OPTION"),
            _alter_login(user, password,
                         f"DEFAULT ROLE {role} SETTINGS PROFILE '{TENANT_PROFILE}'"),
        ]
    return plan


def impersonation_plan(model: AccessModel, password: str) -> list[Statement]:
    """The service login of BI tools that `SET ROLE` per tenant: every tenant role, none by
    default, the tenant profile on the login itself."""
    user = quoted(IMPERSONATION_LOGIN)
    return [
        _create_login(user),
        *(_plain(f"GRANT {quoted(tenant_role(t))} TO {user}") for t in model.tenants),
        _alter_login(user, password, f"DEFAULT ROLE NONE SETTINGS PROFILE '{TENANT_PROFILE}'"),
    ]


def access_plan(model: AccessModel, passwords: Mapping[str, str],
                limits: TenantLimits | None = None) -> list[Statement]:
    """The DDL for `model`: the shared part, then each tenant (a login only for tenants with a
    password), then the impersonation login when its password is given."""
    limits = limits or TenantLimits()
    plan = shared_plan(model, limits)
    for tenant in model.tenants:
        plan += tenant_plan(model, tenant, passwords.get(tenant))
    if IMPERSONATION_PASSWORD_KEY in passwords:
        plan += impersonation_plan(model, passwords[IMPERSONATION_PASSWORD_KEY])
    return plan


@dataclass(frozen=True)
class ExistingAccess:
    """What the server holds now (read from system.users/roles/row_policies)."""
    users: tuple[str, ...]
    roles: tuple[str, ...]
    policies: tuple[tuple[str, str, str], ...]  # (short name, database, table)


def cleanup_plan(existing: ExistingAccess, model: AccessModel,
                 passwords: Mapping[str, str]) -> list[Statement]:
    """Drops what an earlier apply created and the model no longer wants: logins of tenants
    gone or without a password, roles of tenants gone, tenant policies on views that are gone
    or no longer tenant-scoped, the shared policy on views no longer declared shared."""
    logins = {tenant_login(t) for t in model.tenants if t in passwords}
    roles = {tenant_role(t) for t in model.tenants}
    policy_names = {tenant_login(t) for t in model.tenants}
    scoped = set(model.tenant_scoped_views)
    plan = []
    for name, database, table in existing.policies:
        if database != BI_DATABASE:
            continue
        if name == SHARED_POLICY and table not in model.shared_views:
            plan.append(_plain(f"DROP ROW POLICY IF EXISTS {SHARED_POLICY} "
                               f"ON {BI_DATABASE}.{quoted(table)}"))
        if not name.startswith(TENANT_LOGIN_PREFIX):
            continue
        if name not in policy_names or table not in scoped:
            plan.append(_plain(f"DROP ROW POLICY IF EXISTS {quoted(name)} "
                               f"ON {BI_DATABASE}.{quoted(table)}"))
    plan += [_plain(f"DROP USER IF EXISTS {quoted(u)}") for u in existing.users
             if u.startswith(TENANT_LOGIN_PREFIX) and u not in logins]
    plan += [_plain(f"DROP ROLE IF EXISTS {quoted(r)}") for r in existing.roles
             if r.startswith(TENANT_ROLE_PREFIX) and r not in roles]
    return plan
