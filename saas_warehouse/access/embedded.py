"""Users configs that the embedded engine (chDB) loads and enforces itself.

chDB runs every query as its `default` user and cannot CREATE USER, but it enforces the
users, grants, readonly profiles and row filters of a users config passed at open time
(`config-file=`). So each kind of session is an engine opened with its own config, in which
`default` *is* that login:
- `chdb/engine_users.xml` (static): the loaders, dbt and admins — full access;
- an analyst config: read-only, every tenant, no table functions;
- a tenant config: read-only, `bi` only, row filters on every tenant-scoped view.
Every config also defines `bi_definer`, the owner of the `bi` views.

The engine resolves a relative `users_config` against the working directory, so every
engine config is written with an absolute path to its users file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from saas_warehouse.access.model import (
    BI_DATABASE,
    BI_DEFINER,
    TENANT_COLUMN,
    AccessModel,
    check_tenant_id,
)

ENGINE_USERS = Path(__file__).with_name("chdb") / "engine_users.xml"
READ_DATABASES = ("raw", "staging", "analytics", "bi")
DEFINER_DATABASES = ("staging", "analytics")


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


def _readonly_profile(profiles: ET.Element, name: str) -> None:
    # readonly=1 forbids writes and DDL and changing any setting (SET, SETTINGS clauses),
    # so a session cannot switch itself into another tenant's view of the data.
    profile = _sub(profiles, name)
    _sub(profile, "readonly", "1")
    constraints = _sub(profile, "constraints")
    _sub(_sub(constraints, "readonly"), "const")


def _users_config() -> tuple[ET.Element, ET.Element, ET.Element]:
    root = ET.Element("clickhouse")
    profiles = _sub(root, "profiles")
    _sub(profiles, "default")
    _sub(_sub(root, "quotas"), "default")
    users = _sub(root, "users")
    return root, profiles, users


def engine_config(users_file: Path, directory: Path, name: str) -> Path:
    """`<directory>/<name>.xml`: an engine config loading `users_file` (made absolute)."""
    directory.mkdir(parents=True, exist_ok=True)
    engine = ET.Element("clickhouse")
    _sub(engine, "users_config", str(users_file.resolve()))
    ET.indent(engine)
    config = directory / f"{name}.xml"
    partial = directory / f".{name}.{os.getpid()}.tmp"
    ET.ElementTree(engine).write(partial, encoding="unicode")
    os.replace(partial, config)  # atomic: another process never reads half a config
    return config


def admin_engine_config() -> Path:
    """The full-access config every loader, dbt and admin session opens the engine with."""
    digest = hashlib.sha1(str(ENGINE_USERS).encode()).hexdigest()[:10]
    directory = Path(tempfile.gettempdir()) / "saas-warehouse"
    return engine_config(ENGINE_USERS, directory, f"engine-{digest}")


def _write(directory: Path, name: str, users_root: ET.Element) -> Path:
    """`<name>_users.xml` and the engine config `<name>.xml` that loads it."""
    directory.mkdir(parents=True, exist_ok=True)
    users_file = directory / f"{name}_users.xml"
    ET.indent(users_root)
    ET.ElementTree(users_root).write(users_file, encoding="unicode")
    return engine_config(users_file, directory, name)


def _readonly_session(grants: list[str]) -> tuple[ET.Element, ET.Element]:
    """A users config whose `default` user is a read-only login with `grants` (plus the
    definer); returns (root, that user) so a caller can add row filters."""
    root, profiles, users = _users_config()
    _readonly_profile(profiles, "session_readonly")
    default = _sub(users, "default")
    _sub(default, "no_password")
    _sub(default, "profile", "session_readonly")
    _sub(default, "quota", "default")
    _grants(default, grants)
    _definer(users)
    return root, default


def analyst_config(directory: Path) -> Path:
    """Internal analysts: read-only, all tenants, raw to bi; no files, URLs or S3."""
    root, _ = _readonly_session([f"GRANT SELECT ON {db}.*" for db in READ_DATABASES])
    return _write(directory, "analyst", root)


def tenant_config(directory: Path, model: AccessModel, tenant_id: str) -> Path:
    """One tenant's BI login: read-only, `bi` only, its own rows in every scoped view."""
    model.require_tenant(tenant_id)
    root, default = _readonly_session([f"GRANT SELECT ON {BI_DATABASE}.*"])
    filters = _sub(_sub(default, "databases"), BI_DATABASE)
    literal = check_tenant_id(tenant_id)  # [A-Za-z0-9_-] only: safe inside quotes
    for view in model.tenant_scoped_views:
        _sub(_sub(filters, view), "filter", f"{TENANT_COLUMN} = '{literal}'")
    return _write(directory, f"tenant_{tenant_id}", root)
