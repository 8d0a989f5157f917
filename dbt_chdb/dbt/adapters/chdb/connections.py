"""Credentials, client and connection manager: dbt-clickhouse's, on an in-process chDB engine,
or dbt-clickhouse's own HTTP(S) client on a server when `url` names one."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import Optional
from xml.sax.saxutils import escape

import clickhouse_connect
from dbt.adapters.clickhouse.connections import ClickHouseConnectionManager
from dbt.adapters.clickhouse.credentials import ClickHouseCredentials
from dbt.adapters.clickhouse.httpclient import ChHttpClient
from dbt.adapters.clickhouse.logger import logger

from saas_warehouse.urls import WarehouseUrl


def _project_dir() -> str:
    """Where relative paths start: dbt's project directory (the cwd when dbt runs from it)."""
    try:
        from dbt.flags import get_flags

        return str(getattr(get_flags(), "PROJECT_DIR", None) or os.getcwd())
    except ImportError:
        return os.getcwd()


@dataclass
class ChdbCredentials(ClickHouseCredentials):
    """`url`: a WAREHOUSE_URL, parsed by the project's one parser (saas_warehouse/urls.py).
    `chdb:///abs` is the embedded engine at /abs; `http(s)://user:password@host[:port]` fills
    host, port, user, password and `secure` (from the scheme alone) and dbt-clickhouse's own
    HTTP client connects. When `url` is empty:
    `path`: the engine's directory, absolute or relative to the project dir.
    `config_file`: optional ClickHouse config XML (users, profiles, row policies).
    `users_config`: optional users XML; the plugin writes the config that loads it (the
    engine resolves a relative users_config against the cwd, so it is made absolute)."""

    url: Optional[str] = None  # never shown: it may hold a password
    path: str = ""
    config_file: Optional[str] = None
    users_config: Optional[str] = None

    @property
    def type(self):
        return "chdb"

    @property
    def embedded(self) -> bool:
        return bool(self.path)

    @property
    def unique_field(self):
        return self.path if self.embedded else self.host

    def __post_init__(self):
        super().__post_init__()
        if self.url:
            url = WarehouseUrl.parse(self.url)
            if not url.embedded:
                self.path = ""
                self.driver, self.secure = "http", url.secure
                self.host, self.port = url.host, url.port
                self.user, self.password = url.user, url.password
                return
            self.path = url.path
        if self.cluster:
            raise ValueError("WAREHOUSE_CLUSTER names a cluster of ClickHouse servers; the "
                             "embedded engine (chdb://) has none: unset it")
        path = self.path
        if not path or "://" in path:
            raise ValueError("chdb credentials need `url` (chdb:///abs or http(s)://…) or "
                             "`path`, an engine directory")
        base = _project_dir()
        self.path = os.path.abspath(os.path.join(base, os.path.expanduser(path)))
        if self.config_file:
            config_file = os.path.expanduser(self.config_file)
            self.config_file = os.path.abspath(os.path.join(base, config_file))
        elif self.users_config:
            users = os.path.abspath(os.path.join(base, os.path.expanduser(self.users_config)))
            self.config_file = _engine_config_loading(users)

    def _connection_keys(self):
        # dbt hashes these keys' values to decide whether its saved partial parse still holds
        # (ManifestStateCheck.profile_hash). The engine's directory and its config files (absolute
        # paths) change nothing dbt parses: with them, every build of another warehouse (each
        # test's) or of a project moved or cloned elsewhere (a CI checkout with a cached
        # target/) re-parsed the whole project (~5 s). `dbt debug` lists these keys too.
        if not self.embedded:
            return super()._connection_keys()
        return ("schema", "custom_settings", "use_lw_deletes")


def _engine_config_loading(users_file: str) -> str:
    """A minimal engine config whose only job is to load `users_file`."""
    digest = hashlib.sha1(users_file.encode()).hexdigest()[:10]
    directory = os.path.join(tempfile.gettempdir(), "dbt-chdb")
    os.makedirs(directory, exist_ok=True)
    config = os.path.join(directory, f"engine-{digest}.xml")
    partial = f"{config}.{os.getpid()}.tmp"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(f"<clickhouse><users_config>{escape(users_file)}</users_config></clickhouse>\n")
    os.replace(partial, config)
    return config


class ChdbClient(ChHttpClient):
    """dbt-clickhouse's clickhouse-connect wrapper; only the client it wraps differs."""

    def _create_client(self, credentials: ChdbCredentials):
        # The engine is opened as `path?config-file=…` (a chdb:// DSN would drop the option).
        options = {"config-file": credentials.config_file} if credentials.config_file else None
        return clickhouse_connect.get_client(
            interface="chdb",
            path=credentials.path,
            chdb_options=options,
            settings=self._conn_settings,
        )

    def database_dropped(self, database: str):
        # A chDB handle keeps its USE database; fall back to one that still exists.
        super().database_dropped(database)
        if self._client.database is None:
            self._client.database = "default"


class ChdbConnectionManager(ClickHouseConnectionManager):
    TYPE = "chdb"

    @classmethod
    def open(cls, connection):
        if not connection.credentials.embedded:
            return super().open(connection)  # a server: dbt-clickhouse's HTTP(S) client
        if connection.state == "open":
            return connection

        def connect():
            return ChdbClient(connection.credentials)

        # One engine per process: a second process on the same path fails; retrying won't help.
        return cls.retry_connection(
            connection, connect=connect, logger=logger, retryable_exceptions=[], retry_limit=0
        )
