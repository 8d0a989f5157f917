"""The settings of docs/contract.md §1, read from the environment when asked, never at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import quote

from saas_warehouse.cluster import Cluster
from saas_warehouse.urls import LandingUrl, WarehouseUrl

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    """Where the warehouse and the landing zone are.

    warehouse_url: `chdb:///abs/path` (embedded engine) or `http(s)://user:pass@host[:port]`,
      as given; `warehouse` is the parsed value (saas_warehouse/urls.py).
    landing_url: `s3://bucket/prefix`, `file:///abs/dir` or a plain directory path, as given;
      `landing` is the parsed value.
    dagster_home: the Dagster instance directory.
    tenant_passwords_file: JSON {tenant_id: password} for tenant logins on a server.
    tenant_limits_file: TOML overriding the tenant limits (serving/access/limits.py).
    metabase_site_url, metabase_secret_key: for signed embedding URLs (`embed-url`).
    warehouse_cluster: the server's cluster (WAREHOUSE_CLUSTER): DDL `ON CLUSTER`, Replicated
      tables (docs/production.md); empty for one server or the embedded engine.
    """

    warehouse_url: str = field(repr=False)  # may hold a password
    landing_url: str
    dagster_home: str
    tenant_passwords_file: str | None = None
    tenant_limits_file: str | None = None
    metabase_site_url: str | None = None
    metabase_secret_key: str | None = field(default=None, repr=False)
    # True when WAREHOUSE_URL came from the environment: Dagster then reads it as an EnvVar,
    # so a password in it is never stored or shown.
    warehouse_url_from_env: bool = False
    warehouse_cluster: str = ""

    def __post_init__(self) -> None:
        if self.cluster and self.warehouse.embedded:  # a cluster's name, or a clear error
            raise ValueError("WAREHOUSE_CLUSTER names a cluster of ClickHouse servers; the "
                             "embedded engine (chdb://) has none: unset it")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        embedded = f"chdb://{quote(str(REPO_ROOT / '.warehouse'))}"
        return cls(
            warehouse_url=env.get("WAREHOUSE_URL") or embedded,
            landing_url=env.get("LANDING_URL") or str(REPO_ROOT / "data" / "landing"),
            dagster_home=env.get("DAGSTER_HOME") or str(REPO_ROOT / ".dagster"),
            tenant_passwords_file=env.get("SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE") or None,
            tenant_limits_file=env.get("SAAS_WAREHOUSE_TENANT_LIMITS") or None,
            metabase_site_url=env.get("METABASE_SITE_URL") or None,
            metabase_secret_key=env.get("METABASE_EMBEDDING_SECRET_KEY") or None,
            warehouse_url_from_env=bool(env.get("WAREHOUSE_URL")),
            warehouse_cluster=env.get("WAREHOUSE_CLUSTER", "").strip(),
        )

    @cached_property
    def warehouse(self) -> WarehouseUrl:
        """WAREHOUSE_URL parsed: what every consumer asks (embedded or server, TLS, login)."""
        return WarehouseUrl.parse(self.warehouse_url)

    @cached_property
    def cluster(self) -> Cluster:
        """WAREHOUSE_CLUSTER parsed: one server, or every replica of a named cluster."""
        return Cluster.named(self.warehouse_cluster)

    @cached_property
    def landing(self) -> LandingUrl:
        """LANDING_URL parsed: S3 or a local directory."""
        return LandingUrl.parse(self.landing_url)
