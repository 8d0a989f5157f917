"""A request as ClickHouse's HTTP interface reads it, and the headers it answers with.

The subset real clients send (clickhouse-connect, clickhouse-jdbc 0.8, clickhouse-go, the JS
client): the query in `query=` and/or the body (concatenated, as ClickHouse does: an INSERT's
data follows its statement in the body), settings and `param_<name>` as URL parameters, the
login by Basic auth, `X-ClickHouse-User`/`-Key` or `user`/`password`, the database and the
output format by parameter or header, compressed bodies both ways.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from serving.endpoint.compression import decode_body, native_decompress
from serving.endpoint.engine import Raw
from serving.endpoint.errors import ClickHouseError

DEFAULT_FORMAT = "TabSeparated"
# URL parameters that steer the HTTP exchange, not the engine (never passed as settings).
TRANSPORT_PARAMETERS = frozenset({
    "query", "database", "default_format", "user", "password", "quota_key", "session_id",
    "session_timeout", "session_check", "query_id", "compress", "decompress", "buffer_size",
    "wait_end_of_query", "enable_http_compression", "http_zlib_compression_level",
    "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "cancel_http_readonly_queries_on_client_close", "client_protocol_version", "role",
    "http_native_compression_disable_checksumming_on_decompress", "default_database",
})
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$", re.IGNORECASE)


@dataclass
class Request:
    method: str
    user: str
    password: str = field(repr=False)
    sql: bytes  # the statement (and, for an INSERT, its data)
    settings: dict[str, str]
    parameters: dict[str, Raw]  # param_<name> without the prefix, as sent
    database: str | None
    default_format: str
    query_id: str
    session_id: str | None
    compress: bool  # ClickHouse's block framing of the response
    http_compression: bool  # enable_http_compression=1: Content-Encoding by Accept-Encoding
    accept_encoding: str
    protocol_version: str = "0"  # clickhouse-go's client_protocol_version (Native revision)

    @property
    def is_read_only_method(self) -> bool:
        return self.method in ("GET", "HEAD")

    def statement_text(self) -> str:
        """The SQL as text (an INSERT's binary data, if any, replaced)."""
        return self.sql.decode("utf-8", errors="replace")


def _credentials(environ: dict[str, Any], params: dict[str, str]) -> tuple[str, str]:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    header_user = environ.get("HTTP_X_CLICKHOUSE_USER")
    in_params = "user" in params or "password" in params
    if sum(bool(x) for x in (authorization, header_user, in_params)) > 1:
        raise ClickHouseError.make(
            194, "Invalid authentication: it is not allowed to use several authentication "
            "methods simultaneously (Authorization header, X-ClickHouse-User, user parameter)")
    if authorization:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise ClickHouseError.make(194, f"Invalid authentication: {scheme} is not supported")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ClickHouseError.make(194, "Invalid authentication: malformed Basic") from None
        return user, password
    if header_user:
        return header_user, environ.get("HTTP_X_CLICKHOUSE_KEY", "")
    return params.get("user", "default"), params.get("password", "")


def read_request(environ: dict[str, Any], body: bytes) -> Request:
    params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    user, password = _credentials(environ, params)
    try:
        body = decode_body(body, environ.get("HTTP_CONTENT_ENCODING", ""))
        if params.get("decompress") == "1":
            body = native_decompress(body)
    except ValueError as e:
        raise ClickHouseError.make(271, str(e)) from None
    query = params.get("query", "").encode()
    sql = query + b"\n" + body if query and body else query or body
    if not sql.strip():
        raise ClickHouseError.make(62, "Empty query")
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        user=user,
        password=password,
        sql=sql,
        settings={k: v for k, v in params.items()
                  if k not in TRANSPORT_PARAMETERS and not k.startswith("param_")},
        parameters={k[6:]: Raw(v) for k, v in params.items() if k.startswith("param_")},
        database=params.get("database") or environ.get("HTTP_X_CLICKHOUSE_DATABASE") or None,
        default_format=params.get("default_format")
        or environ.get("HTTP_X_CLICKHOUSE_FORMAT") or DEFAULT_FORMAT,
        query_id=params.get("query_id") or str(uuid.uuid4()),
        session_id=params.get("session_id") or None,
        compress=params.get("compress") == "1",
        http_compression=params.get("enable_http_compression") == "1",
        accept_encoding=environ.get("HTTP_ACCEPT_ENCODING", ""),
        protocol_version=params.get("client_protocol_version") or "0",
    )


def trailing_format(sql: str) -> str | None:
    """The format a statement's own `FORMAT` clause names (the statement's last clause)."""
    match = _TRAILING_FORMAT.search(sql[-200:])
    return match[1] if match else None


_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values", "TSV": "text/tab-separated-values",
    "CSV": "text/csv", "CSVWithNames": "text/csv", "JSON": "application/json",
    "JSONCompact": "application/json", "JSONEachRow": "application/x-ndjson",
}


def content_type(fmt: str) -> str:
    if fmt.startswith("TabSeparated") or fmt.startswith("TSV"):
        return "text/tab-separated-values; charset=UTF-8"
    kind = _CONTENT_TYPES.get(fmt)
    if kind is None and fmt.startswith(("JSON", "CSV")):
        kind = "application/json" if fmt.startswith("JSON") else "text/csv"
    return f"{kind}; charset=UTF-8" if kind else "application/octet-stream"


def summary_header(read_rows: int, read_bytes: int, written_rows: int, written_bytes: int,
                   result_rows: int, result_bytes: int, elapsed_seconds: float) -> str:
    values = {"read_rows": read_rows, "read_bytes": read_bytes, "written_rows": written_rows,
              "written_bytes": written_bytes, "total_rows_to_read": read_rows,
              "result_rows": result_rows, "result_bytes": result_bytes,
              "elapsed_ns": int(elapsed_seconds * 1e9)}
    return json.dumps({k: str(v) for k, v in values.items()}, separators=(",", ":"))
