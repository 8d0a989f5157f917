"""WAREHOUSE_URL and LANDING_URL (docs/contract.md §1), parsed once where they enter.

Every consumer asks these values, dbt's profile included (through the `chdb` adapter
plugin): the scheme decides TLS, never the port. clickhouse-connect's `get_client(dsn=…)`
takes TLS from the port, so `https://…:18443` went out as plain HTTP with the password in
its `Authorization` header; nothing here hands a URL to a library to parse again.

This module imports nothing else from the project: the dbt plugin imports it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, cast
from urllib.parse import SplitResult, quote, unquote, urlsplit

WarehouseScheme = Literal["chdb", "http", "https"]
DEFAULT_PORTS = {"http": 8123, "https": 8443}
WAREHOUSE_FORMS = "chdb:///abs/path or http(s)://user:password@host[:port][/database]"


@dataclass(frozen=True)
class WarehouseUrl:
    """The embedded engine on disk (`chdb:///abs/path`) or a ClickHouse server over
    HTTP(S). The password is percent-decoded and never shown (repr, str, errors)."""

    scheme: WarehouseScheme
    path: str = ""  # the embedded engine's directory
    host: str = ""
    port: int = 0  # defaulted by the scheme: http 8123, https 8443
    user: str = "default"
    password: str = field(default="", repr=False)
    database: str | None = None

    @classmethod
    def parse(cls, text: str) -> WarehouseUrl:
        try:
            parts = urlsplit(text)
        except ValueError as e:  # a broken [IPv6] host
            raise ValueError(f"WAREHOUSE_URL {_redact(text)!r}: {e}") from None
        if parts.scheme == "chdb":
            return cls._embedded(text, parts)
        if parts.scheme in DEFAULT_PORTS:
            return cls._server(text, parts)
        raise ValueError(f"WAREHOUSE_URL {_redact(text)!r}: unknown scheme; use {WAREHOUSE_FORMS}")

    @classmethod
    def of(cls, url: WarehouseUrl | str) -> WarehouseUrl:
        """`url` itself, or parsed: entry points take both."""
        return url if isinstance(url, WarehouseUrl) else cls.parse(url)

    @classmethod
    def _embedded(cls, text: str, parts: SplitResult) -> WarehouseUrl:
        path = unquote(parts.path)
        if parts.netloc or parts.query or parts.fragment or path in ("", "/"):
            raise ValueError(
                f"WAREHOUSE_URL {_redact(text)!r}: the embedded engine takes an absolute "
                "directory and nothing else: chdb:///abs/path (percent-encode ? # %)"
            )
        return cls(scheme="chdb", path=path)

    @classmethod
    def _server(cls, text: str, parts: SplitResult) -> WarehouseUrl:
        shown = _redact(text)
        if "@" in parts.path + parts.query + parts.fragment:  # the password held a `/`, `?` or `#`
            raise ValueError(f"WAREHOUSE_URL {shown!r}: percent-encode / ? # @ in the password")
        try:
            port = parts.port
        except ValueError:  # not a number, or out of range
            port = 0
        if port == 0:
            raise ValueError(f"WAREHOUSE_URL {shown!r}: the port must be a number 1-65535")
        if not parts.hostname:
            raise ValueError(f"WAREHOUSE_URL {shown!r}: no host; use {WAREHOUSE_FORMS}")
        database = parts.path.strip("/")
        if "/" in database or parts.query or parts.fragment:
            raise ValueError(f"WAREHOUSE_URL {shown!r}: after the host only /database may follow")
        scheme = cast(WarehouseScheme, parts.scheme)
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=port or DEFAULT_PORTS[scheme],
            user=unquote(parts.username or "") or "default",
            password=unquote(parts.password or ""),
            database=unquote(database) or None,
        )

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"

    @property
    def secure(self) -> bool:
        """TLS: `https`, whatever the port."""
        return self.scheme == "https"

    def with_login(self, user: str, password: str) -> WarehouseUrl:
        """The same server as another user."""
        return replace(self, user=user, password=password)

    def redacted(self) -> str:
        """The URL with the password masked, safe for logs, metadata and errors."""
        if self.embedded:
            return f"chdb://{quote(self.path)}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        login = quote(self.user, safe="") + (":***" if self.password else "")
        database = f"/{quote(self.database, safe='')}" if self.database else ""
        return f"{self.scheme}://{login}@{host}:{self.port}{database}"

    __str__ = redacted


def _redact(text: str) -> str:
    """`text` with everything from the first `:` after the user to the last `@` masked: for
    errors about URLs that did not parse (a password may hold an unencoded `/`, `?` or `#`)."""
    scheme, sep, rest = text.partition("://")
    login, at, after = rest.rpartition("@")
    if ":" not in login:
        return text
    return f"{scheme}{sep}{login.partition(':')[0]}:***{at}{after}"


@dataclass(frozen=True)
class LandingUrl:
    """Where the exports land: an S3 bucket and key prefix, or a local directory."""

    directory: Path | None = None
    bucket: str = ""
    prefix: str = ""  # no leading or trailing slash; may be empty

    @classmethod
    def parse(cls, text: str | Path) -> LandingUrl:
        text = str(text)
        parts = urlsplit(text)
        if parts.scheme == "s3":
            if not parts.netloc:
                raise ValueError(f"LANDING_URL {text!r} has no bucket: s3://bucket/prefix")
            return cls(bucket=parts.netloc, prefix=parts.path.strip("/"))
        if parts.scheme == "file":
            return cls(directory=Path(unquote(parts.path)))
        if "://" in text:
            raise ValueError(f"LANDING_URL {text!r}: use s3://bucket/prefix, file:///abs/dir "
                             "or a directory")
        return cls(directory=Path(text).expanduser().resolve())

    @classmethod
    def of(cls, url: LandingUrl | str | Path) -> LandingUrl:
        return url if isinstance(url, LandingUrl) else cls.parse(url)

    @property
    def is_s3(self) -> bool:
        return self.directory is None

    def local_directory(self) -> Path:
        if self.directory is None:
            raise ValueError(f"not a local landing zone: {self}")
        return self.directory

    def __str__(self) -> str:
        if self.directory is None:
            return f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return str(self.directory)
