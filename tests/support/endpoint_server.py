"""`saas-warehouse serve` in a subprocess for the endpoint tests, and a small warehouse with
hand-made `bi` views shaped like the real ones (a tenant-scoped view, one with its own WHERE
and another tenant column, a shared one, one without a declaration)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from saas_warehouse.processes import stop_process
from support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD, ANALYST_PASSWORD = "admin-pw-1", "analyst-pw-2"
TOY_TENANTS = ("tnt_a", "tnt_b", "tnt_c")
TOY_SCOPED = {"kpi": "tenant_id", "usage": "owner"}  # view → its tenant column
TOY_STATEMENTS = (
    "CREATE DATABASE IF NOT EXISTS analytics",
    "CREATE DATABASE IF NOT EXISTS bi",
    "CREATE DATABASE IF NOT EXISTS raw",
    "CREATE TABLE analytics.dim_tenants (tenant_id String) ENGINE = MergeTree ORDER BY tenant_id",
    "INSERT INTO analytics.dim_tenants VALUES ('tnt_a'), ('tnt_b'), ('tnt_c')",
    "CREATE TABLE analytics.fct (tenant_id String, day Date, v UInt32, total UInt8) "
    "ENGINE = MergeTree ORDER BY (tenant_id, day)",
    "INSERT INTO analytics.fct SELECT ['tnt_a', 'tnt_b', 'tnt_c'][number % 3 + 1], "
    "toDate('2026-03-01') + intDiv(number, 3) % 5, number, number % 2 FROM numbers(60)",
    "CREATE TABLE raw.secrets (s String) ENGINE = MergeTree ORDER BY s",
    "INSERT INTO raw.secrets VALUES ('raw-secret')",
    "CREATE VIEW bi.kpi DEFINER = bi_definer SQL SECURITY DEFINER AS SELECT tenant_id, day, "
    "sum(v) AS v FROM analytics.fct GROUP BY tenant_id, day COMMENT 'tenant_scope: tenant_id'",
    "CREATE VIEW bi.usage DEFINER = bi_definer SQL SECURITY DEFINER AS SELECT tenant_id AS "
    "owner, day, v FROM analytics.fct WHERE NOT total COMMENT 'tenant_scope: owner'",
    "CREATE VIEW bi.bench DEFINER = bi_definer SQL SECURITY DEFINER AS SELECT day, count() AS n "
    "FROM analytics.fct GROUP BY day COMMENT 'tenant_scope: shared'",
    "CREATE VIEW bi.undeclared DEFINER = bi_definer SQL SECURITY DEFINER AS SELECT tenant_id, v "
    "FROM analytics.fct",
)


def build_toy_warehouse(path: Path) -> str:
    from saas_warehouse.warehouse import open_warehouse

    url = f"chdb://{path}"
    with open_warehouse(url) as client:
        for statement in TOY_STATEMENTS:
            client.command(statement)
    return url


@dataclass(frozen=True)
class Served:
    port: int
    process: subprocess.Popen
    banner: str
    tenant_passwords: dict[str, str]
    log: Path  # serve's stderr: a file, since a pipe nobody reads fills and blocks serve

    def stderr(self) -> str:
        return self.log.read_text()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def password(self, user: str) -> str:
        fixed = {"admin": ADMIN_PASSWORD, "analyst": ANALYST_PASSWORD}
        return fixed.get(user) or self.tenant_passwords[user.removeprefix("tenant_")]

    def client(self, user: str, **options):
        import clickhouse_connect

        return clickhouse_connect.get_client(host="127.0.0.1", port=self.port, username=user,
                                             password=self.password(user), **options)


@contextmanager
def serving(warehouse_url: str, directory: Path, tenants: tuple[str, ...],
            limits: str | None = None) -> Iterator[Served]:
    """`python -m saas_warehouse_cli serve` on a free port until the block ends (SIGTERM)."""
    directory.mkdir(parents=True, exist_ok=True)
    serve_passwords = directory / "serve_passwords.json"
    serve_passwords.write_text(json.dumps({"admin": ADMIN_PASSWORD,
                                           "analyst": ANALYST_PASSWORD}))
    tenant_passwords = {t: f"pw-{t}-{i}" for i, t in enumerate(tenants)}
    tenant_file = directory / "tenant_passwords.json"
    # `@impersonation` (a server's service login, docs/bi.md) is in the same file: not a tenant.
    tenant_file.write_text(json.dumps({**tenant_passwords, "@impersonation": "imp-pw-3"}))
    env = {**os.environ, "WAREHOUSE_URL": warehouse_url, "PYTHONPATH": str(REPO),
           "SAAS_WAREHOUSE_SERVE_PASSWORDS_FILE": str(serve_passwords),
           "SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE": str(tenant_file)}
    if limits:
        (directory / "limits.toml").write_text(limits)
        env["SAAS_WAREHOUSE_TENANT_LIMITS"] = str(directory / "limits.toml")
    port = free_port()
    log = directory / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "saas_warehouse_cli", "serve", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO)
    try:
        banner = _banner(process, log)
        yield Served(port, process, banner, tenant_passwords, log)
    finally:
        stop_process(process, 40)


def _banner(process: subprocess.Popen, log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    text = ""
    while time.monotonic() < deadline:
        text += process.stdout.readline() or ""
        if text.endswith("\n"):
            os.set_blocking(process.stdout.fileno(), True)
            return text
        if process.poll() is not None:
            raise RuntimeError(f"serve exited {process.returncode}: {log.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("serve did not start in time")


def request(served: Served, sql: str | bytes = b"", *, user: str = "admin",
            password: str | None = None, method: str = "POST", params: dict | None = None,
            headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP exchange: (status, headers, body)."""
    password = served.password(user) if password is None else password
    login = base64.b64encode(f"{user}:{password}".encode()).decode()
    query = urllib.parse.urlencode(params or {})
    body = sql.encode() if isinstance(sql, str) else sql
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        connection.request(method, f"/?{query}", body=body if method == "POST" else None,
                           headers={"Authorization": f"Basic {login}", **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()
