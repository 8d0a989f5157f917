"""Sessions under the isolation a BI tool gets: a tenant's login, or an internal analyst."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

from clickhouse_connect.driver.client import Client

from saas_warehouse.access.embedded import analyst_config, tenant_config
from saas_warehouse.access.model import AccessModel, read_access_model, tenant_login
from saas_warehouse.warehouse import open_warehouse

PASSWORDS_ENV = "SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE"


def read_passwords(path: str | None = None) -> dict[str, str]:
    """Tenant login passwords: a JSON object {tenant_id: password} kept outside git."""
    path = path or os.environ.get(PASSWORDS_ENV)
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: expected a JSON object of tenant_id → password strings")
    return data


def access_model(warehouse_url: str) -> AccessModel:
    with open_warehouse(warehouse_url) as client:
        return read_access_model(client)


@contextmanager
def tenant_session(warehouse_url: str, tenant_id: str) -> Iterator[Client]:
    """A connection as `tenant_id`'s BI login. Unknown or malformed ids are refused."""
    model = access_model(warehouse_url)
    model.require_tenant(tenant_id)
    if warehouse_url.startswith("chdb://"):
        with tempfile.TemporaryDirectory(prefix="tenant-session-") as directory:
            config = tenant_config(Path(directory), model, tenant_id)
            with open_warehouse(warehouse_url, engine_config=config) as client:
                yield client
        return
    password = read_passwords().get(tenant_id)
    if password is None:
        raise ValueError(f"no password for tenant {tenant_id} in ${PASSWORDS_ENV}")
    with open_warehouse(_with_user(warehouse_url, tenant_login(tenant_id), password)) as client:
        yield client


@contextmanager
def analyst_session(warehouse_url: str) -> Iterator[Client]:
    """Read-only, every tenant. On a server: the WAREHOUSE_URL user (give it bi_analyst)."""
    if not warehouse_url.startswith("chdb://"):
        with open_warehouse(warehouse_url) as client:
            yield client
        return
    with tempfile.TemporaryDirectory(prefix="analyst-session-") as directory:
        with open_warehouse(warehouse_url, engine_config=analyst_config(Path(directory))) as c:
            yield c


def _with_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{quote(user)}:{quote(password, safe='')}@{host}").geturl()
