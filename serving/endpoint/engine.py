"""One embedded engine per process, a handle per request.

chDB hosts one engine per process, and every handle on it is the config's `default` user,
opened here with the admin config. Handles are cheap (0.4-1.2 ms to open and close on a
small warehouse), run concurrently with one another, and keep their `SET`s
to themselves: a request that must be locked down gets a fresh handle and throws it away.
An anchor handle keeps the engine open between requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import chdb
from clickhouse_connect.driver.exceptions import DatabaseError

from saas_warehouse.urls import WarehouseUrl
from saas_warehouse.warehouse import WarehouseLockedError, admin_engine_config, served_url

SESSION_TIMEOUT_SECONDS = 60  # ClickHouse's default `session_timeout`


class Raw(str):
    """A query parameter value already in the engine's escaped text form: a `param_<name>` of
    an HTTP request, passed on byte for byte (so the guard parses exactly what runs)."""


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r",
                          "\0": "\\0", "\b": "\\b", "\f": "\\f"})


def engine_parameters(parameters: Mapping[str, Any] | None) -> dict[str, str]:
    """Values as the engine reads query parameters: escaped text (Raw values as they are)."""
    return {k: v if isinstance(v, Raw) else str(v).translate(_ESCAPES)
            for k, v in (parameters or {}).items()}


class Handle:
    """A chDB connection: queries in a format, bytes out."""

    def __init__(self, connection: Any):
        self._connection = connection

    def run(self, sql: str | bytes, fmt: str = "TabSeparated",
            params: Mapping[str, Any] | None = None) -> Any:
        """The engine's result (`.bytes()`, `.rows_read()`, …); raises the engine's error."""
        return self._connection.query(sql, fmt, params=engine_parameters(params))

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[list[Any]]:
        """Rows of a small internal query (JSONCompact decoded)."""
        body = self.run(sql, "JSONCompact", params).bytes()
        return json.loads(body)["data"] if body else []

    # The guard and the access model (serving/access/) ask a clickhouse-connect client.
    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> _Rows:
        try:
            return _Rows(self.rows(sql, parameters))
        except RuntimeError as e:
            raise DatabaseError(str(e)) from e

    def close(self) -> None:
        self._connection.close()


@dataclass
class _Rows:
    result_rows: list[list[Any]]


@dataclass
class _Session:
    handle: Handle
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)


class Engine:
    def __init__(self, warehouse_url: WarehouseUrl | str):
        url = WarehouseUrl.of(warehouse_url)
        if not url.embedded:
            raise ValueError(
                f"serve owns an embedded warehouse: WAREHOUSE_URL must be chdb:///abs/path, not "
                f"{url.redacted()} (a ClickHouse server already speaks HTTP: point clients at it)")
        self.path = url.path
        self._connection_string = f"{url.path}?config-file={admin_engine_config()}"
        try:
            self._anchor = self.open_handle()
        except RuntimeError as e:
            if "Error initializing EmbeddedServer" not in str(e):
                raise
            served = served_url(url.path)
            raise WarehouseLockedError(
                f"the embedded warehouse at {url.path} is open in another process"
                + (f" (`saas-warehouse serve` at {served})" if served else "")) from e
        self.timezone = self._anchor.rows("SELECT timezone()")[0][0]
        self.version = self._anchor.rows("SELECT version()")[0][0]
        self._sessions: dict[tuple[str, str], _Session] = {}
        self._sessions_lock = threading.Lock()

    def open_handle(self) -> Handle:
        return Handle(chdb.connect(self._connection_string))

    @contextmanager
    def handle(self) -> Iterator[Handle]:
        """A fresh handle, closed (with every SET made on it) when the block ends."""
        handle = self.open_handle()
        try:
            yield handle
        finally:
            handle.close()

    @contextmanager
    def session(self, login: str, session_id: str) -> Iterator[Handle]:
        """The handle of a ClickHouse session: its SETs, USE and temporary tables last
        between requests (until SESSION_TIMEOUT_SECONDS idle). One request at a time, as on
        a server (SESSION_IS_LOCKED)."""
        from serving.endpoint.errors import ClickHouseError

        self._expire_sessions()
        with self._sessions_lock:
            session = self._sessions.get((login, session_id))
            if session is None:
                session = self._sessions[(login, session_id)] = _Session(self.open_handle())
        if not session.lock.acquire(blocking=False):
            raise ClickHouseError.make(
                373, f"Session {session_id} is locked by a concurrent client")
        try:
            yield session.handle
        finally:
            session.last_used = time.monotonic()
            session.lock.release()

    def _expire_sessions(self) -> None:
        deadline = time.monotonic() - SESSION_TIMEOUT_SECONDS
        with self._sessions_lock:
            for key, session in list(self._sessions.items()):
                if session.last_used < deadline and session.lock.acquire(blocking=False):
                    del self._sessions[key]
                    session.handle.close()

    def close(self) -> None:
        with self._sessions_lock:
            for session in self._sessions.values():
                session.handle.close()
            self._sessions.clear()
        self._anchor.close()
