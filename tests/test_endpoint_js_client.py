"""The official JS client `@clickhouse/client` (npm; the version pinned by
tests/support/js_client/package-lock.json) against `saas-warehouse serve` in a subprocess:
a tenant reads its `bi` rows in JSONEachRow and in the client's default format (JSON) through
`query()`, and raw through `exec()`, with query parameters, with and without the client's
gzip compression (responses; request bodies, which the client compresses for `exec()`); a
wrong password gets ClickHouse's 516; `analytics` and `raw` stay out of reach.

Expected rows come from the in-process tenant session (`tenant_session`, before the endpoint
opens the warehouse) and, independently of both, from Python filtering the in-process rows.
A recording TCP relay between node and serve shows that compression was (or was not) on the
wire. The client is installed with `npm ci` into a directory under the system's temporary
directory keyed by the hash of package.json, package-lock.json and query.mjs (once per
machine, under a file lock shared by xdist workers); never into the repository.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.endpoint_server import (
    REPO,
    TOY_TENANTS,
    Served,
    build_toy_warehouse,
    request,
    serving,
)

from serving.access.sessions import tenant_session

JS_DIR = REPO / "tests" / "support" / "js_client"
JS_FILES = ("package.json", "package-lock.json", "query.mjs")
TENANTS = ("tnt_a", "tnt_b")
DAY = "2026-03-02"
COMPRESSED = {"request": True, "response": True}
# What the client runs; `{name:Type}` placeholders are sent as `param_<name>` URL parameters.
QUERIES = {
    "kpi": "SELECT * FROM bi.kpi ORDER BY ALL",
    "usage": "SELECT * FROM bi.usage ORDER BY ALL",
    "kpi_day": "SELECT tenant_id, day, v FROM kpi WHERE day = {day:Date} AND v >= {least:UInt64} "
               "ORDER BY ALL",
}
PARAMS = {"day": DAY, "least": 1}
# node processes and, on a fresh machine, `npm ci` from the registry: the slow tier.
pytestmark = pytest.mark.slow


def _node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    match = re.match(r"v(\d+)\.", version.stdout.strip())
    return int(match.group(1)) if match else None


@pytest.fixture(scope="session")
def js_client() -> Path:
    """query.mjs beside an `npm ci` of the pinned client, outside the repository."""
    major = _node_major()
    if major is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the JS client test (apt-get install nodejs npm)")
    if major < 20:
        pytest.skip(f"@clickhouse/client 1.x needs node >= 20; this node is {major}")
    digest = hashlib.sha256()
    for name in JS_FILES:
        digest.update((JS_DIR / name).read_bytes())
    target = Path(tempfile.gettempdir()) / f"saas-warehouse-js-client-{digest.hexdigest()[:16]}"
    with open(f"{target}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "node_modules" / "@clickhouse" / "client" / "package.json").exists():
            staging = Path(tempfile.mkdtemp(prefix="js-client-", dir=target.parent))
            for name in JS_FILES:
                shutil.copy(JS_DIR / name, staging / name)
            install = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=staging,
                capture_output=True, text=True, timeout=600)
            assert install.returncode == 0, f"npm ci failed:\n{install.stdout}\n{install.stderr}"
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
    return target / "query.mjs"


class Relay:
    """A TCP relay to serve that keeps every byte each way (to see compression on the wire)."""

    def __init__(self, port: int):
        self.upstream_port = port
        self.sent: list[bytes] = []  # node → serve
        self.received: list[bytes] = []  # serve → node
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, sink, kept in ((client, server, self.sent),
                                       (server, client, self.received)):
                threading.Thread(target=self._pump, args=(source, sink, kept),
                                 daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, kept: list[bytes]) -> None:
        try:
            while chunk := source.recv(65536):
                kept.append(chunk)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def headers(self, kept: list[bytes]) -> str:
        """Every header line seen that direction, lower-cased (bodies may be binary)."""
        text = b"".join(kept).decode("latin-1").lower()
        return "\n".join(re.findall(r"^[a-z-]+: [^\r\n]*|^(?:post|get|http/1\.1) [^\r\n]*",
                                    text, re.MULTILINE))

    def close(self) -> None:
        self._listener.close()


def _rows(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode().splitlines() if line]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict]]:
    """The endpoint, and each tenant's rows (JSONEachRow) and column types from
    `tenant_session` in-process (before the endpoint opens the warehouse: one process at a time)."""
    root = tmp_path_factory.mktemp("endpoint_js_client")
    url = build_toy_warehouse(root / "warehouse")
    expected: dict = {}
    for tenant in TENANTS:
        with tenant_session(url, tenant) as session:
            for name in ("kpi", "usage"):
                expected[(tenant, name)] = _rows(session.raw_query(QUERIES[name],
                                                                   fmt="JSONEachRow"))
            typed = session.query(QUERIES["kpi"])
            expected[(tenant, "meta")] = [{"name": n, "type": t.name} for n, t in
                                          zip(typed.column_names, typed.column_types,
                                              strict=True)]
    with serving(url, root, TOY_TENANTS) as served:
        yield served, expected


def run_js(script: Path, served: Served, relay: Relay | None, *, user: str,
           password: str | None = None, compression: dict | None = None,
           calls: list[dict]) -> dict:
    plan = {"url": f"http://127.0.0.1:{relay.port if relay else served.port}",
            "username": user,
            "password": served.password(user) if password is None else password,
            "database": "bi", "compression": compression, "calls": calls}
    node = subprocess.run(["node", str(script)], input=json.dumps(plan), capture_output=True,
                          text=True, timeout=120, cwd=script.parent)
    assert node.returncode == 0, f"node exited {node.returncode}: {node.stderr[-3000:]}"
    outcomes = json.loads(node.stdout)
    assert outcomes.pop("@ping") == {"success": True}
    return outcomes


@pytest.mark.parametrize("compression", [None, COMPRESSED], ids=["plain", "gzip"])
@pytest.mark.parametrize("tenant", TENANTS)
def test_a_tenant_reads_its_bi_rows_through_the_js_client(toy, js_client: Path, tenant: str,
                                                          compression: dict | None) -> None:
    served, expected = toy
    user = f"tenant_{tenant}"
    calls = [{"name": f"{name}:{fmt or 'default'}", "query": QUERIES[name], "format": fmt,
              **({"query_params": PARAMS} if name == "kpi_day" else {})}
             for name in QUERIES for fmt in ("JSONEachRow", None)]
    calls += [{"name": f"{name}:exec", "kind": "exec", "query": f"{QUERIES[name]} FORMAT "
               "JSONEachRow", **({"query_params": PARAMS} if name == "kpi_day" else {})}
              for name in QUERIES]
    relay = Relay(served.port)
    try:
        out = run_js(js_client, served, relay, user=user, compression=compression, calls=calls)
    finally:
        relay.close()
    failed = {name: o for name, o in out.items() if not o["ok"]}
    assert not failed

    kpi, usage = expected[(tenant, "kpi")], expected[(tenant, "usage")]
    # Independent of the endpoint and the client: the rows are this tenant's, and the
    # parameterised query is Python's filter of the in-process rows.
    assert kpi and {r["tenant_id"] for r in kpi} == {tenant}
    assert usage and {r["owner"] for r in usage} == {tenant}
    kpi_day = [r for r in kpi if r["day"] == DAY and int(r["v"]) >= PARAMS["least"]]
    assert len(kpi_day) == 1
    for name, rows in (("kpi", kpi), ("usage", usage), ("kpi_day", kpi_day)):
        assert out[f"{name}:JSONEachRow"]["result"] == rows, name
        default = out[f"{name}:default"]["result"]  # the client's JSON: meta, data, rows, …
        assert (default["data"], default["rows"]) == (rows, len(rows)), name
        assert _rows(out[f"{name}:exec"]["text"].encode()) == rows, name
    assert out["kpi:default"]["result"]["meta"] == expected[(tenant, "meta")]
    # …and what a raw HTTP request to serve gets.
    status, _, body = request(served, QUERIES["kpi"], user=user,
                              params={"default_format": "JSONEachRow"})
    assert (status, _rows(body)) == (200, kpi)

    # What went over the wire: gzip both ways exactly when the client was told to compress.
    sent, received = relay.headers(relay.sent), relay.headers(relay.received)
    assert sent.count("post /?") == len(calls)
    assert all("database=bi" in line for line in sent.splitlines() if line.startswith("post"))
    assert sent.count("param_day=2026-03-02") == 3 and sent.count("param_least=1") == 3
    gzip_sent = sent.count("content-encoding: gzip")  # exec() compresses its body
    gzip_received = received.count("content-encoding: gzip")
    if compression:
        assert gzip_sent == len(QUERIES), sent[:3000]
        assert sent.count("enable_http_compression=1") == len(calls)
        assert gzip_received == len(calls)
    else:
        assert gzip_sent == 0 and "enable_http_compression" not in sent
        assert gzip_received == 0


@pytest.mark.parametrize("compression", [None, COMPRESSED], ids=["plain", "gzip"])
def test_a_wrong_password_gets_the_authentication_error(toy, js_client: Path,
                                                        compression: dict | None) -> None:
    served, _ = toy
    calls = [{"name": "kpi", "query": QUERIES["kpi"], "format": "JSONEachRow"},
             {"name": "one", "query": "SELECT 1"}]
    for user, password in (("tenant_tnt_a", "wrong-pw-9"),
                           ("tenant_tnt_a", served.password("tenant_tnt_b")),
                           ("tenant_nobody", "pw-nobody-7")):
        out = run_js(js_client, served, None, user=user, password=password,
                     compression=compression, calls=calls)
        for name in ("kpi", "one"):
            assert out[name]["ok"] is False
            assert (out[name]["code"], out[name]["type"]) == ("516", "AUTHENTICATION_FAILED")
            assert out[name]["message"].startswith(f"{user}: Authentication failed")
            assert password not in out[name]["message"]


def test_a_tenant_cannot_read_analytics_or_raw(toy, js_client: Path) -> None:
    served, expected = toy
    forbidden = {"fct": "SELECT * FROM analytics.fct",
                 "fct_join": "SELECT k.* FROM bi.kpi AS k JOIN analytics.fct AS f "
                             "ON k.tenant_id = f.tenant_id",
                 "tenants_in": "SELECT count() FROM bi.kpi WHERE tenant_id IN "
                               "(SELECT tenant_id FROM analytics.dim_tenants)",
                 "secrets": "SELECT s FROM raw.secrets"}
    calls = [{"name": name, "query": sql} for name, sql in forbidden.items()]
    calls.append({"name": "kpi", "query": QUERIES["kpi"], "format": "JSONEachRow"})
    out = run_js(js_client, served, None, user="tenant_tnt_a", compression=COMPRESSED,
                 calls=calls)
    assert out.pop("kpi")["result"] == expected[("tnt_a", "kpi")]  # the login itself works
    for name, outcome in out.items():
        assert (outcome["ok"], outcome["code"], outcome["type"]) == \
            (False, "497", "ACCESS_DENIED"), name
        assert "raw-secret" not in outcome["message"]
        status, headers, _ = request(served, forbidden[name], user="tenant_tnt_a")
        assert (status, headers["x-clickhouse-exception-code"]) == (403, "497"), name
