"""`saas-warehouse serve` (docs/contract.md §2): owns the embedded warehouse and answers
ClickHouse's HTTP interface until SIGINT/SIGTERM.

HTTP is waitress's (a threaded WSGI server, pure Python, maintained by the Pylons project):
chDB's calls block, so a worker thread per request is the natural shape (uvicorn would run
them in a thread pool anyway), and waitress bounds what a client may send (REQUEST_LIMITS).
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import waitress.wasyncore  # type: ignore[import-untyped]

from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import serve_file
from serving.access.limits import TenantLimits
from serving.endpoint.app import EndpointApp
from serving.endpoint.doors import Doors
from serving.endpoint.engine import Engine
from serving.endpoint.logins import SERVE_PASSWORDS_ENV, Logins
from serving.endpoint.tenant_door import TenantDoor

# What a client may send (docs/bi.md): larger headers or bodies get a 4xx; an idle
# connection is closed after `channel_timeout` seconds.
REQUEST_LIMITS = {
    "threads": 8,
    "connection_limit": 100,
    "max_request_header_size": 256 * 1024,
    "max_request_body_size": 1 << 30,
    "channel_timeout": 300,
}
SHUTDOWN_SECONDS = 30  # in-flight queries may finish this long after SIGTERM


class _Stop(waitress.wasyncore.ExitNow):
    """Raised by the SIGINT/SIGTERM handler wherever the event loop is. An ExitNow: waitress
    re-raises it from a channel's handler; any other exception there is logged and swallowed
    ("uncaptured python exception, closing channel"), and a SIGTERM that came while a client
    closed its connection was lost (serve ran on until SIGKILL)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


@contextmanager
def _announced(path: str, url: str) -> Iterator[None]:
    """`.<name>.serve` beside the warehouse, locked while serving: a process that finds the
    warehouse held is told where to reach it (saas_warehouse/warehouse.py)."""
    marker = serve_file(path)
    with marker.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.truncate(0)
        handle.write(url + "\n")
        handle.flush()
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)


def require_loopback(host: str) -> None:
    """serve speaks plain HTTP: its logins' passwords must not cross a network in clear."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as e:
        raise ValueError(f"--host {host}: {e.strerror}") from None
    if not all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses):
        raise ValueError(
            f"--host {host} is reachable from other machines, and serve speaks plain HTTP: "
            "passwords would cross the network in clear. Keep the default 127.0.0.1 and put a "
            "TLS-terminating proxy in front of it for other machines (docs/bi.md)")


def serve(settings: Settings, host: str, port: int) -> None:
    import waitress.server  # type: ignore[import-untyped]

    # waitress warns of every request that waits for a worker thread ("Task queue depth is
    # N"), from its event loop and holding the task queue's lock: under BI load (more
    # clients than REQUEST_LIMITS' threads) a line per request, and a stderr that is slow or
    # not read (a pipe) stalls every request. Waiting for a thread is normal here.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    require_loopback(host)
    logins = Logins.load(os.environ.get(SERVE_PASSWORDS_ENV), settings.tenant_passwords_file)
    if not logins.names():
        raise ValueError(f"no logins: set ${SERVE_PASSWORDS_ENV} (JSON {{\"admin\": …, "
                         "\"analyst\": …}) and/or SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE")
    engine = Engine(settings.warehouse)
    try:
        limits = TenantLimits.load(settings.tenant_limits_file)
        doors = Doors(engine, TenantDoor(limits, engine.handle))
        server: Any = waitress.server.create_server(
            EndpointApp(doors, logins), host=host, port=port, ident="saas-warehouse",
            **REQUEST_LIMITS)
        url = f"http://{host}:{server.effective_port}"
        with _announced(engine.path, url):
            fixed = [name for name in logins.names() if not name.startswith("tenant_")]
            tenants = len(logins.tenant_ids())
            print(f"serving {engine.path} at {url} — logins: {', '.join(fixed) or 'none'}"
                  + (f", tenant_<tenant_id> for {tenants} tenant(s)" if tenants else ""),
                  flush=True)
            previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                server.run()
            except _Stop as stopped:
                print(f"stopping ({stopped})", file=sys.stderr, flush=True)
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)
                # Stop accepting; running queries finish (chDB cannot cancel one from another
                # thread) and send their answers; queued requests are dropped. The event
                # loop's trigger closes last: a worker that finishes a request pulls it (closed
                # first, each running request ended in an OSError traceback on stderr).
                waitress.wasyncore.dispatcher.close(server)
                server.task_dispatcher.shutdown(cancel_pending=True, timeout=SHUTDOWN_SECONDS)
                server.trigger.close()
    finally:
        engine.close()

