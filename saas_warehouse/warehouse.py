"""One way to reach the warehouse: WAREHOUSE_URL (parsed, saas_warehouse/urls.py) → a
clickhouse-connect client.

The embedded engine (chDB) can be open in one process at a time, so callers hold a client
only for the duration of one step (`open_warehouse`) and close it before starting `dbt`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
import time
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ProgrammingError

from saas_warehouse.cluster import SINGLE_SERVER, Cluster
from saas_warehouse.contract import DATABASES
from saas_warehouse.urls import WarehouseUrl

# The full-access users config of the embedded engine: loaders, dbt, admins.
ENGINE_USERS = Path(__file__).with_name("chdb") / "engine_users.xml"
# How long a step waits for another process's step to release the embedded warehouse.
LOCK_WAIT_SECONDS = 30 * 60


class WarehouseLockedError(RuntimeError):
    """The embedded warehouse is open in another process."""


def serve_file(path: str | Path) -> Path:
    """`.<name>.serve` beside the warehouse: `saas-warehouse serve` writes its URL there (no
    password) and holds a lock on it while it runs."""
    path = Path(path)
    return path.parent / f".{path.name}.serve"


def served_url(path: str | Path) -> str | None:
    """The URL of the `serve` process that holds the warehouse at `path`, if one runs."""
    try:
        with serve_file(path).open() as handle:
            try:  # a lock we can take is a stale file: that serve is gone
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or None
            return None
    except OSError:
        return None


def _held_by(path: str | Path) -> str:
    url = served_url(path)
    return (f" `saas-warehouse serve` holds it: reach it with WAREHOUSE_URL=http://admin:"
            f"<password>@{url.removeprefix('http://')}." if url else "")


def write_engine_config(users_file: Path, directory: Path, name: str) -> Path:
    """`<directory>/<name>.xml`: an engine config loading `users_file` (made absolute)."""
    directory.mkdir(parents=True, exist_ok=True)
    engine = ET.Element("clickhouse")
    ET.SubElement(engine, "users_config").text = str(users_file.resolve())
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
    return write_engine_config(ENGINE_USERS, directory, f"engine-{digest}")


_EMBEDDED_CLIENTS: weakref.WeakSet[Client] = weakref.WeakSet()


def is_embedded(client: Client) -> bool:
    """Whether `client` is the embedded engine (open in one process at a time)."""
    return client in _EMBEDDED_CLIENTS


def get_client(warehouse_url: WarehouseUrl | str, engine_config: Path | None = None) -> Client:
    """A client for the warehouse at `warehouse_url` (docs/contract.md §1); the caller closes it.

    A server is reached over TLS exactly when the scheme is `https`. The embedded engine is
    opened with `engine_config` (its users, grants and row filters; see
    serving/access/embedded.py), by default the full-access one.
    """
    url = WarehouseUrl.of(warehouse_url)
    if not url.embedded:
        # Never `dsn=`, and the interface always named: left to itself, clickhouse-connect
        # takes TLS from the port (8443, 443), not from the scheme.
        return clickhouse_connect.get_client(
            interface=url.scheme, secure=url.secure, host=url.host, port=url.port,
            username=url.user, password=url.password, database=url.database,
        )
    path = url.path
    config = engine_config or admin_engine_config()
    try:
        client = clickhouse_connect.get_client(
            interface="chdb", path=path, chdb_options={"config-file": str(config)}
        )
    except ProgrammingError as e:
        if "Error initializing EmbeddedServer" in str(e):
            raise WarehouseLockedError(
                f"the embedded warehouse at {path} is open in another process "
                "(a running `dagster dev` run, `saas-warehouse run` or a Python session). "
                "The embedded engine allows one process at a time: wait for it to finish or "
                "stop it, or point WAREHOUSE_URL at another chdb:/// path or a ClickHouse "
                f"server. (If nothing else has it open, check the engine config {config}.)"
                + _held_by(path)
            ) from e
        raise
    _EMBEDDED_CLIENTS.add(client)
    return client


@contextmanager
def open_warehouse(
    warehouse_url: WarehouseUrl | str, engine_config: Path | None = None
) -> Iterator[Client]:
    """A client that is closed (releasing the embedded engine) when the block ends."""
    client = get_client(warehouse_url, engine_config)
    try:
        yield client
    finally:
        client.close()


_REPEATED_CODE = re.compile(r"^(Code: \d+\. DB::Exception: )(?:Code: \d+\. DB::Exception: )+")
_VERSION = re.compile(r" \(version [^)]*\)")
_REPEATED_NAME = re.compile(r"(\(([A-Z_]+)\))\.? \(\2\)")


def clickhouse_message(error: BaseException, limit: int | None = None) -> str:
    """ClickHouse's error message on one line, once, without its stack trace: chDB repeats
    the `Code: N. DB::Exception:` prefix and the error name, and adds a version trailer.
    With `limit`, at most that many characters (log lines, load errors)."""
    text = " ".join(str(error).split("Stack trace", 1)[0].split())
    text = _REPEATED_CODE.sub(r"\1", text)
    text = _REPEATED_NAME.sub(r"\1", _VERSION.sub("", text))
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def sql_string(text: object) -> str:
    """`text` as a ClickHouse string literal (backslash and quote escaped)."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def ensure_databases(client: Client, cluster: Cluster = SINGLE_SERVER) -> None:
    for database in DATABASES:
        client.command(create_database_sql(database, cluster))


def create_database_sql(database: str, cluster: Cluster = SINGLE_SERVER) -> str:
    return f"CREATE DATABASE IF NOT EXISTS {database}{cluster.on}"


@contextmanager
def warehouse_lock(
    warehouse_url: WarehouseUrl | str,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Take turns on the embedded warehouse with other processes of this project.

    chDB refuses a second process outright; steps that open the warehouse (or start dbt on
    it) hold an exclusive file lock beside it instead, so two runs for the same days queue
    step by step rather than fail. After `wait_seconds` the plain "open in another process"
    error is raised. A ClickHouse server needs no lock.
    """
    url = WarehouseUrl.of(warehouse_url)
    if not url.embedded:
        yield
        return
    path = Path(url.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("a") as handle:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseLockedError(
                        f"the embedded warehouse at {path} is open in another process "
                        f"(waited {wait_seconds:.0f}s for it to finish)" + _held_by(path)
                    ) from None
                if on_wait and not told:
                    on_wait(f"waiting for another process to release the embedded warehouse {path}")
                    told = True
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
