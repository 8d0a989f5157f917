"""Sessions under the isolation a BI tool gets: a tenant's login, or an internal analyst."""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.query import QueryResult

from saas_warehouse.urls import WarehouseUrl
from saas_warehouse.warehouse import open_warehouse
from serving.access.ceilings import ResultCeiling
from serving.access.embedded import analyst_users, tenant_users, write_users_config
from serving.access.guard import checked_statement
from serving.access.limits import TenantLimits
from serving.access.model import (
    TENANT_PROFILE,
    AccessModel,
    UnknownTenantError,
    read_access_model,
    tenant_login,
)

PASSWORDS_ENV = "SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE"


class ReadClient(Protocol):
    """What a BI-isolated session offers: queries, nothing else."""

    def query(self, query: str, parameters: Any = None, settings: Any = None) -> QueryResult: ...

    def raw_query(self, query: str, parameters: Any = None, settings: Any = None,
                  fmt: Any = None) -> bytes: ...


class TenantClient:
    """A tenant's connection: every statement passes the guard (guard.py) before it runs,
    what runs is the statement as ClickHouse's parser printed it, and no result leaves past
    the login's result ceilings (ceilings.py)."""

    def __init__(self, client: Client, limits: TenantLimits):
        self._client = client
        self._limits = limits

    def query(self, query: str, parameters: Mapping[str, Any] | None = None,
              settings: dict[str, Any] | None = None) -> QueryResult:
        statement = checked_statement(self._client, query, parameters)
        result = self._client.query(statement, parameters=dict(parameters or {}),
                                    settings=settings)
        return ResultCeiling.of(self._limits, settings, statement).hold(result)

    def raw_query(self, query: str, parameters: Mapping[str, Any] | None = None,
                  settings: dict[str, Any] | None = None, fmt: str = "TabSeparated") -> bytes:
        statement = checked_statement(self._client, query, parameters)
        body = self._client.raw_query(statement, parameters=dict(parameters or {}),
                                      settings=settings, fmt=fmt)
        return ResultCeiling.of(self._limits, settings, statement).hold_raw(body, fmt)


def read_passwords(path: str | None) -> dict[str, str]:
    """Login passwords: a JSON object {tenant_id: password} kept outside git."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: expected a JSON object of tenant_id → password strings")
    return data


def access_model(warehouse_url: WarehouseUrl | str) -> AccessModel:
    with open_warehouse(warehouse_url) as client:
        return read_access_model(client)


def _model_and_settings(warehouse_url: WarehouseUrl) -> tuple[AccessModel, list[str]]:
    with open_warehouse(warehouse_url) as client:
        names = [r[0] for r in client.query("SELECT name FROM system.settings").result_rows]
        return read_access_model(client), names


@contextmanager
def tenant_session(warehouse_url: WarehouseUrl | str, tenant_id: str | None, *,
                   limits: TenantLimits | None = None,
                   passwords: Mapping[str, str] | None = None) -> Iterator[TenantClient]:
    """A connection as `tenant_id`'s BI login. Empty, malformed or unknown ids are refused."""
    if tenant_id is None or tenant_id == "":
        raise UnknownTenantError("no tenant given: a tenant session needs a tenant id")
    url = WarehouseUrl.of(warehouse_url)
    limits = limits or TenantLimits()
    if not url.embedded:
        access_model(url).require_tenant(tenant_id)
        password = (passwords or {}).get(tenant_id)
        if password is None:
            raise ValueError(f"no password for tenant {tenant_id} in ${PASSWORDS_ENV}")
        with open_warehouse(url.with_login(tenant_login(tenant_id), password)) as client:
            yield TenantClient(client, limits)
        return
    model, engine_settings = _model_and_settings(url)
    model.require_tenant(tenant_id)
    # A name of this session's own: the engine proves below that it loaded this config.
    profile = f"{TENANT_PROFILE}_{secrets.token_hex(6)}"
    users = tenant_users(model, tenant_id, limits, engine_settings, profile)
    with tempfile.TemporaryDirectory(prefix="tenant-session-") as directory:
        config = write_users_config(Path(directory), "tenant", users)
        with open_warehouse(url, engine_config=config) as client:
            _require_profile(client, profile)
            yield TenantClient(client, limits)


@contextmanager
def analyst_session(warehouse_url: WarehouseUrl | str) -> Iterator[Client]:
    """Read-only, every tenant. On a server: the WAREHOUSE_URL user (give it bi_analyst)."""
    url = WarehouseUrl.of(warehouse_url)
    if not url.embedded:
        with open_warehouse(url) as client:
            yield client
        return
    profile = f"bi_analyst_readonly_{secrets.token_hex(6)}"
    with tempfile.TemporaryDirectory(prefix="analyst-session-") as directory:
        config = write_users_config(Path(directory), "analyst", analyst_users(profile))
        with open_warehouse(url, engine_config=config) as client:
            _require_profile(client, profile)
            yield client


def _require_profile(client: Client, profile: str) -> None:
    """chDB hosts one engine per process: a client opened while another config's engine is
    still open silently shares it, with that config's rights. Refuse to run then."""
    profiles = client.query("SELECT currentProfiles()").result_rows[0][0]
    if profile not in profiles:
        client.close()
        raise RuntimeError(
            "the embedded engine is already open in this process under another login; close "
            "every other connection to the warehouse before opening an isolated session"
        )

