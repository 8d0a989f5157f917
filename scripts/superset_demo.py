"""`make superset-demo`: Apache Superset connected to `saas-warehouse serve` as ONE tenant, a
chart on `bi.kpi_tenant_daily`, rendered in headless Chromium (docs/bi.md, issue 26 part 6).

Not part of `make test`: it installs Superset from PyPI into its own venv (.superset-venv,
gitignored; Superset pins SQLAlchemy 1.4 and pandas 2.1, so never into .venv) and takes
minutes. What it does, in order:

1. `.warehouse` (`saas-warehouse demo` when missing) and the `make dev` logins
   (`serving.endpoint.dev.dev_logins`: random, 0600, under DAGSTER_HOME, never printed);
2. `saas-warehouse serve` on 127.0.0.1:8123 (reused when `make dev` already serves there);
3. Superset's metadata in SQLite under .superset-venv/demo (made anew each run):
   `superset db upgrade`, an admin user, `superset init`, then `superset run`;
4. through Superset's REST API: the database `clickhousedb://tenant_<id>:<pw>@127.0.0.1:8123/bi`
   (clickhouse-connect, Superset's ClickHouse driver), the dataset `bi.kpi_tenant_daily`, a
   bar chart of daily events grouped by `tenant_id` and a table of rows per `tenant_id`;
5. checks, against the admin login's own reading of the view (all tenants): Superset lists
   only the `bi` schema; its chart data holds exactly the tenant's rows, per day; the table
   chart rendered in Chromium shows one tenant, that one;
6. a screenshot of the bar chart's explore page → docs/screenshots/superset-tenant-chart.png.

Chromium is driven over the DevTools protocol (a minimal WebSocket client below: the
stdlib has none) because the chart needs a logged-in browser; the login happens inside it.
Environment: SUPERSET_DEMO_TENANT (default: the first tenant id), SUPERSET_DEMO_PORT
(Superset's port, default a free one), SUPERSET_PYTHON (default python3.11), DAGSTER_HOME.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from saas_warehouse.processes import stop_process  # noqa: E402
from saas_warehouse.settings import Settings  # noqa: E402
from serving.endpoint.dev import dev_logins  # noqa: E402
from serving.endpoint.logins import SERVE_PASSWORDS_ENV  # noqa: E402

# Superset 6.0 with the clickhouse-connect it is tested with here (the version in .venv too).
# `rich`: imported by `superset` 6.0.0's CLI (superset/cli/test_db.py) but not among its
# dependencies (without it: ModuleNotFoundError at `superset db upgrade`).
REQUIREMENTS = ("apache-superset==6.0.0", "clickhouse-connect==1.13.0", "rich")
VENV = REPO / ".superset-venv"
HOME = VENV / "demo"
SCREENSHOT = REPO / "docs" / "screenshots" / "superset-tenant-chart.png"
SERVE_HOST, SERVE_PORT = "127.0.0.1", 8123
VIEW = "kpi_tenant_daily"
ADMIN_USER = "admin"


def log(message: str) -> None:
    print(f"[superset-demo] {message}", file=sys.stderr, flush=True)


def run(args: list[str], **options: Any) -> subprocess.CompletedProcess:
    """A command whose output is kept in a log file; its tail is shown when it fails."""
    HOME.mkdir(parents=True, exist_ok=True)
    log_file = HOME / ("-".join(Path(a).name for a in args[:3] if not a.startswith("-"))
                       + ".log")
    with log_file.open("a") as out:
        out.write(f"\n$ {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, text=True, **options)
    if done.returncode != 0:
        tail = log_file.read_text()[-4000:]
        raise SystemExit(f"{' '.join(args[:3])} … exited {done.returncode} "
                         f"(log: {log_file}):\n{tail}")
    return done


# 1. Superset in its own venv -------------------------------------------------------------

def superset_venv() -> Path:
    marker = VENV / ".installed"
    wanted = "\n".join(REQUIREMENTS)
    if marker.exists() and marker.read_text() == wanted:
        return VENV / "bin"
    python = os.environ.get("SUPERSET_PYTHON") or shutil.which("python3.11") \
        or shutil.which("python3")
    if python is None:
        raise SystemExit("no python3.11 for Superset's venv: set SUPERSET_PYTHON")
    log(f"installing {', '.join(REQUIREMENTS)} into {VENV} (a few minutes)")
    if not (VENV / "bin" / "python").exists():
        run([python, "-m", "venv", str(VENV)])
    run([str(VENV / "bin" / "pip"), "install", "--quiet", "--upgrade", "pip"])
    run([str(VENV / "bin" / "pip"), "install", "--quiet", *REQUIREMENTS])
    marker.write_text(wanted)
    return VENV / "bin"


# 2. The warehouse behind serve --------------------------------------------------------------

def pinged(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{SERVE_HOST}:{port}/ping", timeout=2) as answer:
            return answer.read() == b"Ok.\n"
    except OSError:
        return False


@contextmanager
def served(settings: Settings) -> Iterator[tuple[str, str, str]]:
    """(tenant id, tenant password, admin password) while serve answers on 8123."""
    if not settings.warehouse.embedded:
        raise SystemExit("superset-demo serves the embedded warehouse: unset WAREHOUSE_URL")
    if not Path(settings.warehouse.path).exists():
        log("no warehouse yet: `saas-warehouse demo` (30 days of sample data)")
        run([str(REPO / ".venv" / "bin" / "saas-warehouse"), "demo"], cwd=REPO)
    serve_file, tenant_file, admin = dev_logins(settings)
    tenant_passwords = json.loads(tenant_file.read_text())
    tenants = sorted(t for t in tenant_passwords if not t.startswith("@"))
    if not tenants:
        raise SystemExit(f"no tenant logins in {tenant_file}")
    tenant = os.environ.get("SUPERSET_DEMO_TENANT") or tenants[0]
    if tenant not in tenant_passwords:
        raise SystemExit(f"{tenant} has no login in {tenant_file}")
    if pinged(SERVE_PORT):
        log(f"reusing the endpoint already on {SERVE_HOST}:{SERVE_PORT} (make dev?)")
        yield tenant, tenant_passwords[tenant], admin
        return
    env = {**os.environ, SERVE_PASSWORDS_ENV: str(serve_file),
           "SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE": str(tenant_file)}
    serve = subprocess.Popen([str(REPO / ".venv" / "bin" / "saas-warehouse"), "serve",
                              "--host", SERVE_HOST, "--port", str(SERVE_PORT)], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 90
        while not pinged(SERVE_PORT):
            if serve.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("saas-warehouse serve did not start; see its message above")
            time.sleep(0.3)
        yield tenant, tenant_passwords[tenant], admin
    finally:
        stop_process(serve, 60)


def admin_truth(admin_password: str) -> dict[str, dict[str, int]]:
    """Every tenant's {date: events} as the admin login reads the view (no tenant filter)."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(host=SERVE_HOST, port=SERVE_PORT, username="admin",
                                           password=admin_password)
    truth: dict[str, dict[str, int]] = {}
    for tenant_id, day, events in client.query(
            f"SELECT tenant_id, toString(date), sum(events) FROM bi.{VIEW} "
            "GROUP BY tenant_id, date").result_rows:
        truth.setdefault(tenant_id, {})[day] = int(events)
    client.close()
    return truth


# 3. Superset's metadata and web server ------------------------------------------------------

def superset_env(port: int) -> dict[str, str]:
    HOME.mkdir(parents=True, exist_ok=True)
    key_file = HOME / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(42))
    config = HOME / "superset_config.py"
    config.write_text(
        "# Written by scripts/superset_demo.py: a local, single-user demo.\n"
        f"SECRET_KEY = {key_file.read_text()!r}\n"
        f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{HOME / 'superset.db'}'\n"
        "WTF_CSRF_ENABLED = False  # the REST API is driven by this script, on 127.0.0.1\n"
        "TALISMAN_ENABLED = False\n"
        "RATELIMIT_ENABLED = False\n"
        "SQLLAB_CTAS_NO_LIMIT = True\n"
        "FEATURE_FLAGS = {}\n"
        f"WEBDRIVER_BASEURL = 'http://127.0.0.1:{port}/'\n")
    return {**os.environ, "SUPERSET_CONFIG_PATH": str(config), "FLASK_APP": "superset",
            "SUPERSET_HOME": str(HOME), "PYTHONPATH": ""}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def superset(bin_dir: Path, port: int, admin_password: str) -> Iterator[str]:
    env = superset_env(port)
    (HOME / "superset.db").unlink(missing_ok=True)  # anew each run: no stale objects
    log("superset db upgrade / fab create-admin / init (SQLite under .superset-venv/demo)")
    run([str(bin_dir / "superset"), "db", "upgrade"], env=env)
    run([str(bin_dir / "superset"), "fab", "create-admin", "--username", ADMIN_USER,
         "--firstname", "Demo", "--lastname", "Admin", "--email", "admin@localhost",
         "--password", admin_password], env=env)
    run([str(bin_dir / "superset"), "init"], env=env)
    log_file = (HOME / "superset-run.log").open("w")
    web = subprocess.Popen([str(bin_dir / "superset"), "run", "-h", "127.0.0.1", "-p",
                            str(port), "--with-threads"], env=env, stdout=log_file,
                           stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.read() == b"OK":
                        break
            except OSError:
                pass
            if web.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"superset run did not start (log: {log_file.name})")
            time.sleep(1)
        log(f"Superset on {url}")
        yield url
    finally:
        stop_process(web, 30, group=True)
        log_file.close()


class Api:
    """Superset's REST API with a JWT from /api/v1/security/login."""

    def __init__(self, url: str, user: str, password: str):
        self.url = url
        token = self.call("POST", "/api/v1/security/login", {
            "username": user, "password": password, "provider": "db", "refresh": False})
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Content-Type": "application/json", **getattr(self, "headers", {})})
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as e:
            raise SystemExit(f"Superset {method} {path}: {e.code} {e.read()[:3000]!r}") from e


# 4. The database, dataset and charts --------------------------------------------------------

def build_charts(api: Api, tenant: str, password: str) -> dict[str, Any]:
    uri = (f"clickhousedb://tenant_{tenant}:{urllib.parse.quote(password, safe='')}"
           f"@{SERVE_HOST}:{SERVE_PORT}/bi")
    name = f"saas-warehouse as tenant_{tenant}"
    api.call("POST", "/api/v1/database/test_connection/",
             {"database_name": name, "sqlalchemy_uri": uri})
    database = api.call("POST", "/api/v1/database/", {
        "database_name": name, "sqlalchemy_uri": uri, "expose_in_sqllab": True})["id"]
    schemas = api.call("GET", f"/api/v1/database/{database}/schemas/")["result"]
    rison = urllib.parse.quote("(schema_name:bi,force:!t)")
    tables = [t["value"] for t in
              api.call("GET", f"/api/v1/database/{database}/tables/?q={rison}")["result"]]
    dataset = api.call("POST", "/api/v1/dataset/", {
        "database": database, "schema": "bi", "table_name": VIEW})["id"]
    events = {"expressionType": "SIMPLE", "column": {"column_name": "events"},
              "aggregate": "SUM", "label": "events"}
    bar = {"datasource": f"{dataset}__table", "viz_type": "echarts_timeseries_bar",
           "x_axis": "date", "time_grain_sqla": "P1D", "metrics": [events],
           "groupby": ["tenant_id"], "adhoc_filters": [], "row_limit": 10000,
           "show_legend": True, "legendOrientation": "top", "stack": True,
           "x_axis_title": "date", "y_axis_title": "events", "rich_tooltip": True,
           "truncate_metric": True, "zoomable": False}
    table = {"datasource": f"{dataset}__table", "viz_type": "table", "query_mode": "aggregate",
             "groupby": ["tenant_id"], "metrics": ["count", events], "adhoc_filters": [],
             "row_limit": 1000, "server_page_length": 10, "include_search": False}
    charts = {}
    for key, title, params in (("bar", f"Daily events by tenant_id — tenant_{tenant}'s login",
                                bar),
                               ("table", f"Rows by tenant_id — tenant_{tenant}'s login", table)):
        charts[key] = api.call("POST", "/api/v1/chart/", {
            "slice_name": title, "viz_type": params["viz_type"], "datasource_id": dataset,
            "datasource_type": "table", "params": json.dumps(params)})["id"]
    # What the bar chart's query returns, through Superset → clickhouse-connect → serve.
    data = api.call("POST", "/api/v1/chart/data", {
        "datasource": {"id": dataset, "type": "table"}, "force": True,
        "queries": [{"columns": ["tenant_id", "date"], "metrics": [events],
                     "row_limit": 100000, "orderby": [["date", True]]}],
        "result_format": "json", "result_type": "full"})["result"][0]
    if data.get("error"):
        raise SystemExit(f"chart data failed: {data['error']}")
    return {"database": database, "dataset": dataset, "charts": charts, "schemas": schemas,
            "tables": tables, "rows": data["data"]}


def check(built: dict[str, Any], tenant: str, truth: dict[str, dict[str, int]]) -> None:
    if len(truth) < 2 or tenant not in truth:
        raise SystemExit(f"the admin login sees {len(truth)} tenant(s); the demo needs several")
    if set(built["schemas"]) != {"bi"}:
        raise SystemExit(f"the tenant's Superset database lists schemas {built['schemas']}")
    if VIEW not in built["tables"]:
        raise SystemExit(f"{VIEW} not among the tenant's tables {built['tables']}")
    seen = {row["tenant_id"] for row in built["rows"]}
    per_day = {str(row["date"]): int(row["events"]) for row in built["rows"]}
    if seen != {tenant}:
        raise SystemExit(f"Superset's chart data holds tenants {sorted(seen)}, not {tenant}")
    if len(per_day) != len(built["rows"]) or sorted(per_day.values()) != \
            sorted(truth[tenant].values()):
        raise SystemExit(f"Superset's rows differ from the admin login's for {tenant}:\n"
                         f"{built['rows'][:5]} vs {sorted(truth[tenant].items())[:5]}")
    log(f"chart data: {len(per_day)} days, tenant_id = {tenant} only (the admin login "
        f"sees {len(truth)} tenants); schemas {built['schemas']}")


# 5. Headless Chromium over the DevTools protocol --------------------------------------------

class DevTools:
    """A page of a headless Chromium, driven over one WebSocket (RFC 6455, text frames)."""

    def __init__(self, ws_url: str):
        parts = urllib.parse.urlsplit(ws_url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=120)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if not head.startswith(b"HTTP/1.1 101") or accept.encode() not in head:
            raise SystemExit(f"Chromium refused the DevTools WebSocket: {head[:200]!r}")
        self.next_id = 0

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise SystemExit("Chromium closed the DevTools WebSocket")
            data += chunk
        return data

    def _message(self) -> dict:
        payload = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload += self._read(length)
            if first & 0x80:  # FIN
                return json.loads(payload)

    def call(self, method: str, **params: Any) -> dict:
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        while True:
            message = self._message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise SystemExit(f"DevTools {method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise SystemExit(f"in the page: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.5)
        raise SystemExit(f"timed out waiting for {what}")


@contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator[DevTools]:
    sys.path.insert(0, str(REPO / "tests"))
    from support.browser import FLAGS, find_chromium

    binary = find_chromium()
    if binary is None:
        raise SystemExit("headless Chromium is not installed (make chromium)")
    with tempfile.TemporaryDirectory(prefix="superset-demo-chromium-",
                                     ignore_cleanup_errors=True) as profile:
        browser = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text().strip():
                if browser.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("chromium did not open its DevTools port")
                time.sleep(0.2)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as answer:
                pages = [p for p in json.loads(answer.read()) if p["type"] == "page"]
            page = DevTools(pages[0]["webSocketDebuggerUrl"])
            page.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
            yield page
        finally:
            stop_process(browser, 20)


def navigate(page: DevTools, url: str) -> None:
    page.call("Page.navigate", url=url)
    page.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'",
                  f"{url} to load")


def render(url: str, built: dict[str, Any], tenant: str, admin_password: str) -> list[str]:
    with chromium_page() as page:
        try:
            return _render(page, url, built, tenant, admin_password)
        except SystemExit:
            failed = HOME / "failed-page.png"  # what the page showed, for the reader
            failed.write_bytes(base64.b64decode(
                page.call("Page.captureScreenshot", format="png")["data"]))
            log(f"the page at {page.evaluate('location.href')} is in {failed}")
            raise


def _render(page: DevTools, url: str, built: dict[str, Any], tenant: str,
            admin_password: str) -> list[str]:
    if True:
        navigate(page, f"{url}/login/")
        # The login form's POST, from inside the page: the browser keeps the session cookie.
        status = page.evaluate(
            "fetch('/login/', {method: 'POST', redirect: 'manual', body: new URLSearchParams("
            f"{{username: {json.dumps(ADMIN_USER)}, password: {json.dumps(admin_password)}}})"
            "}).then(r => r.type === 'opaqueredirect' ? 302 : r.status)")
        if status not in (200, 302):
            raise SystemExit(f"logging in to Superset in Chromium: HTTP {status}")
        # The table chart: its rows are HTML, so the page itself says which tenants it shows.
        navigate(page, f"{url}/explore/?slice_id={built['charts']['table']}&standalone=1")
        if "/login" in page.evaluate("location.pathname"):
            raise SystemExit("Chromium was sent back to Superset's login page")
        cells = page.wait_for(
            "(() => { const rows = [...document.querySelectorAll('table tbody tr')];"
            " return rows.length ? rows.map(r => r.querySelector('td').innerText.trim())"
            " : null })()", "the table chart's rows")
        if cells != [tenant]:
            raise SystemExit(f"the rendered table chart shows tenant_id {cells}, not {tenant}")
        # The bar chart's explore page: the screenshot.
        navigate(page, f"{url}/explore/?slice_id={built['charts']['bar']}")
        page.wait_for("!!document.querySelector('.chart-container canvas, "
                      "[data-test=\"chart-container\"] canvas')", "the bar chart's canvas")
        page.wait_for("document.querySelectorAll('.loading, [aria-label=\"Loading\"]')"
                      ".length === 0", "the explore page to finish loading")
        time.sleep(3)  # the ECharts entry animation
        shot = page.call("Page.captureScreenshot", format="png")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))
        return cells


def main() -> int:
    started = time.monotonic()
    os.environ.setdefault("DAGSTER_HOME", str(REPO / ".dagster"))
    settings = Settings.from_env()
    bin_dir = superset_venv()
    port = int(os.environ.get("SUPERSET_DEMO_PORT") or free_port())
    superset_admin_password = secrets.token_urlsafe(18)  # this run's only; never printed
    with served(settings) as (tenant, tenant_password, admin_password):
        truth = admin_truth(admin_password)
        with superset(bin_dir, port, superset_admin_password) as url:
            api = Api(url, ADMIN_USER, superset_admin_password)
            built = build_charts(api, tenant, tenant_password)
            check(built, tenant, truth)
            cells = render(url, built, tenant, superset_admin_password)
    log(f"rendered table chart shows tenant_id {cells}; screenshot "
        f"{SCREENSHOT.relative_to(REPO)} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
