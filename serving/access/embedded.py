"""The access model as users configs that the embedded engine (chDB) loads and enforces.

chDB runs every query as its `default` user and cannot CREATE USER, but it enforces the
users, grants, settings profiles and constraints, quotas and row filters of a users config
passed at open time (`config-file=`). So each kind of session is an engine opened with its
own config, in which `default` *is* that login:
- `saas_warehouse/chdb/engine_users.xml` (static, opened by `warehouse.py`): the loaders,
  dbt and admins — full access;
- an analyst config: read-only, every tenant, no table functions;
- a tenant config: the tenant profile and quota of `profile.py`, `bi` only, row filters on
  every `bi` relation that exists when the session opens: its own rows of each tenant-scoped
  view (on the column the view declares), none of a relation without a usable declaration
  (model.py, SCOPE_KEY).
Every config also defines `bi_definer`, the owner of the `bi` views.

One difference from the server rendering, because chDB's local server never reads
`access_control_improvements` (so CHANGEABLE_IN_READONLY is refused): the tenant profile is
`readonly = 2` with a `readonly` constraint on every setting the engine has except the ones
the profile lets BI drivers change. The engine itself then refuses the same changes a
server's `readonly = 1` refuses, with the same MIN/MAX bounds.

The engine resolves a relative `users_config` against the working directory, so every
engine config is written with an absolute path to its users file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from saas_warehouse.contract import DATABASES
from saas_warehouse.warehouse import write_engine_config
from serving.access.limits import TenantLimits
from serving.access.model import (
    BI_DATABASE,
    BI_DEFINER,
    DEFINER_DATABASES,
    TENANT_PROFILE,
    TENANT_QUOTA,
    AccessModel,
    row_filter,
)
from serving.access.profile import tenant_profile, tenant_quota

ANALYST_PROFILE = "bi_analyst_readonly"
NO_ROWS = "0"  # the filter of a bi relation that declares no (usable) tenant scope


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _grants(user: ET.Element, statements: list[str]) -> None:
    grants = _sub(user, "grants")
    for statement in statements:
        _sub(grants, "query", statement)


def _definer(users: ET.Element) -> None:
    definer = _sub(users, BI_DEFINER)
    _sub(definer, "no_password")
    _sub(definer, "profile", "default")
    _sub(definer, "quota", "default")
    _grants(definer, [f"GRANT SELECT ON {db}.*" for db in DEFINER_DATABASES])


def tenant_filters(model: AccessModel, tenant_id: str) -> dict[str, str]:
    """The row filter of each `bi` relation for a tenant: its own rows of a tenant-scoped
    view, no rows (`0`) of a relation without a usable scope declaration; shared views have
    none."""
    filters = {view: row_filter(tenant_id, column)
               for view, column in model.tenant_columns.items()}
    filters.update(dict.fromkeys(model.unreadable_views, NO_ROWS))
    return dict(sorted(filters.items()))


def _users_config() -> tuple[ET.Element, ET.Element, ET.Element, ET.Element]:
    root = ET.Element("clickhouse")
    profiles = _sub(root, "profiles")
    _sub(profiles, "default")
    quotas = _sub(root, "quotas")
    _sub(quotas, "default")
    users = _sub(root, "users")
    return root, profiles, quotas, users


def _tenant_profile(profiles: ET.Element, name: str, limits: TenantLimits,
                    engine_settings: Iterable[str]) -> None:
    rules = tenant_profile(limits)
    profile = _sub(profiles, name)
    constraints = ET.Element("constraints")
    for rule in rules:
        if rule.name == "readonly":
            value: str | None = "2"  # see the module docstring
        else:
            value = None if rule.value is None else str(rule.value)
        if value is not None:
            _sub(profile, rule.name, value)
        if not rule.changeable:
            _sub(_sub(constraints, rule.name), "readonly")
        elif rule.min is not None or rule.max is not None:
            bounds = _sub(constraints, rule.name)
            if rule.min is not None:
                _sub(bounds, "min", str(rule.min))
            if rule.max is not None:
                _sub(bounds, "max", str(rule.max))
    listed = {rule.name for rule in rules}
    for name in sorted(set(engine_settings) - listed):
        _sub(_sub(constraints, name), "readonly")
    profile.append(constraints)


def _tenant_quota(quotas: ET.Element, limits: TenantLimits) -> None:
    quota = tenant_quota(limits)
    interval = _sub(_sub(quotas, TENANT_QUOTA), "interval")
    _sub(interval, "duration", str(quota.interval_seconds))
    _sub(interval, "queries", str(quota.queries))
    _sub(interval, "read_rows", str(quota.read_rows))
    _sub(interval, "execution_time", str(quota.execution_time))


def write_users_config(directory: Path, name: str, users_root: ET.Element) -> Path:
    """`<name>_users.xml` and the engine config `<name>.xml` that loads it."""
    directory.mkdir(parents=True, exist_ok=True)
    users_file = directory / f"{name}_users.xml"
    ET.indent(users_root)
    ET.ElementTree(users_root).write(users_file, encoding="unicode")
    return write_engine_config(users_file, directory, name)


def analyst_users(profile_name: str = ANALYST_PROFILE) -> ET.Element:
    """Internal analysts: read-only (nothing may be changed), all tenants, raw to bi; no
    files, URLs or S3 (no grants for them)."""
    root, profiles, _, users = _users_config()
    profile = _sub(profiles, profile_name)
    _sub(profile, "readonly", "1")
    _sub(_sub(_sub(profile, "constraints"), "readonly"), "readonly")
    default = _sub(users, "default")
    _sub(default, "no_password")
    _sub(default, "profile", profile_name)
    _sub(default, "quota", "default")
    _grants(default, [f"GRANT SELECT ON {db}.*" for db in DATABASES])
    _definer(users)
    return root


def tenant_users(model: AccessModel, tenant_id: str, limits: TenantLimits,
                 engine_settings: Iterable[str], profile_name: str = TENANT_PROFILE) -> ET.Element:
    """One tenant's BI login as the engine's `default` user: the tenant profile and quota,
    SELECT on `bi` only, its own rows in every tenant-scoped view. `engine_settings` are the
    names of every setting the engine has (`system.settings`); `profile_name` lets a session
    recognise its own config (`currentProfiles()`)."""
    model.require_tenant(tenant_id)
    root, profiles, quotas, users = _users_config()
    _tenant_profile(profiles, profile_name, limits, engine_settings)
    _tenant_quota(quotas, limits)
    default = _sub(users, "default")
    _sub(default, "no_password")
    _sub(default, "profile", profile_name)
    _sub(default, "quota", TENANT_QUOTA)
    _grants(default, [f"GRANT SELECT ON {BI_DATABASE}.*"])
    filters = _sub(_sub(default, "databases"), BI_DATABASE)
    for view, condition in tenant_filters(model, tenant_id).items():
        _sub(_sub(filters, view), "filter", condition)
    _definer(users)
    return root
