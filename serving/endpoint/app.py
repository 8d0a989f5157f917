"""The WSGI application: ClickHouse's HTTP interface over the doors (doors.py)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from serving.endpoint.compression import choose_encoding, encode_body, native_compress
from serving.endpoint.doors import Doors
from serving.endpoint.errors import ClickHouseError, authentication_failed
from serving.endpoint.logins import Logins
from serving.endpoint.protocol import content_type, read_request, summary_header

log = logging.getLogger("saas_warehouse.serve")
StartResponse = Callable[..., Any]
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
            413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error"}
DISPLAY_NAME = socket.gethostname()


class EndpointApp:
    def __init__(self, doors: Doors, logins: Logins):
        self.doors = doors
        self.logins = logins

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                return self._plain(start_response, 405, b"")
            return self._plain(start_response, 200, b"Ok.\n")
        if path == "/" and method in ("GET", "HEAD") and "query" not in parse_qs(
                environ.get("QUERY_STRING", "")):
            return self._plain(start_response, 200, b"Ok.\n")  # as ClickHouse's root handler
        if path != "/":
            return self._plain(start_response, 404, f"There is no handle {path}\n".encode())
        if method not in ("GET", "POST", "HEAD"):
            return self._plain(start_response, 405, b"")
        base = {"X-ClickHouse-Server-Display-Name": DISPLAY_NAME,
                "X-ClickHouse-Timezone": self.doors.engine.timezone}
        try:
            body = environ["wsgi.input"].read() if method == "POST" else b""
            request = read_request(environ, body)
            base["X-ClickHouse-Query-Id"] = request.query_id
            login = self.logins.authenticate(request.user, request.password)
            if login is None:
                raise authentication_failed(request.user)
            started = time.monotonic()
            outcome = self.doors.run(login, request)
            if outcome.fmt == "Native" and request.protocol_version != "0" and outcome.body:
                raise ClickHouseError.make(
                    36, "this endpoint writes Native at revision 0 only (chDB has no block info "
                    "or per-column serialization byte): drop client_protocol_version, or ask "
                    "for another format. clickhouse-go (Grafana) always sends both over HTTP: "
                    "point it at a ClickHouse server (docs/bi.md)")
        except Exception as e:  # every failure is answered in ClickHouse's words
            error = ClickHouseError.of(e)
            if error.code == 1001:
                log.exception("request failed")
            headers = {**base, "X-ClickHouse-Exception-Code": str(error.code),
                       "Content-Type": "text/plain; charset=UTF-8"}
            return self._answer(start_response, error.status, headers,
                                f"{error} (version {self.doors.engine.version})\n".encode())
        result = outcome.result
        payload = outcome.body
        headers = {**base, "X-ClickHouse-Format": outcome.fmt,
                   "Content-Type": content_type(outcome.fmt),
                   "X-ClickHouse-Summary": summary_header(
                       result.rows_read(), result.bytes_read(), result.rows_written(),
                       result.bytes_written(), max(outcome.result_rows, 0), len(payload),
                       time.monotonic() - started)}
        if request.compress:
            payload = native_compress(payload)
        encoding = choose_encoding(request.accept_encoding) if request.http_compression else None
        if encoding:
            payload = encode_body(payload, encoding)
            headers["Content-Encoding"] = encoding
        return self._answer(start_response, 200, headers,
                            b"" if method == "HEAD" else payload)

    def _plain(self, start_response: StartResponse, status: int, body: bytes) -> list[bytes]:
        return self._answer(start_response, status,
                            {"Content-Type": "text/plain; charset=UTF-8"}, body)

    @staticmethod
    def _answer(start_response: StartResponse, status: int, headers: dict[str, str],
                body: bytes) -> list[bytes]:
        headers["Content-Length"] = str(len(body))
        start_response(f"{status} {_REASONS.get(status, 'Error')}", list(headers.items()))
        return [body]
