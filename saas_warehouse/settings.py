"""The settings of CONTRACT.md §1, read from the environment when asked, never at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    """Where the warehouse and the landing zone are.

    warehouse_url: `chdb:///abs/path` (embedded engine) or `http(s)://user:pass@host:port`.
    landing_url: `s3://bucket/prefix`, `file:///abs/dir` or a plain directory path.
    dagster_home: the Dagster instance directory.
    tenant_passwords_file: JSON {tenant_id: password} for tenant logins on a server.
    tenant_limits_file: TOML overriding the tenant limits (saas_warehouse/access/limits.py).
    metabase_site_url, metabase_secret_key: for signed embedding URLs (`embed-url`).
    """

    warehouse_url: str
    landing_url: str
    dagster_home: str
    tenant_passwords_file: str | None = None
    tenant_limits_file: str | None = None
    metabase_site_url: str | None = None
    metabase_secret_key: str | None = field(default=None, repr=False)
    # True when WAREHOUSE_URL came from the environment: Dagster then reads it as an EnvVar,
    # so a password in it is never stored or shown.
    warehouse_url_from_env: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            warehouse_url=env.get("WAREHOUSE_URL") or f"chdb://{REPO_ROOT / '.warehouse'}",
            landing_url=env.get("LANDING_URL") or str(REPO_ROOT / "data" / "landing"),
            dagster_home=env.get("DAGSTER_HOME") or str(REPO_ROOT / ".dagster"),
            tenant_passwords_file=env.get("SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE") or None,
            tenant_limits_file=env.get("SAAS_WAREHOUSE_TENANT_LIMITS") or None,
            metabase_site_url=env.get("METABASE_SITE_URL") or None,
            metabase_secret_key=env.get("METABASE_EMBEDDING_SECRET_KEY") or None,
            warehouse_url_from_env=bool(env.get("WAREHOUSE_URL")),
        )

    @property
    def landing_is_s3(self) -> bool:
        return self.landing_url.startswith("s3://")

    @property
    def landing_dir(self) -> Path:
        """The local landing directory (`file:///abs/dir` or a plain path)."""
        return local_landing_dir(self.landing_url)


def local_landing_dir(landing_url: str) -> Path:
    """`file:///abs/dir` or a plain path → the directory."""
    if landing_url.startswith("s3://"):
        raise ValueError(f"not a local landing zone: {landing_url}")
    if landing_url.startswith("file://"):
        return Path(unquote(urlsplit(landing_url).path))
    return Path(landing_url).expanduser().resolve()


def embedded_path(warehouse_url: str) -> str:
    """The on-disk directory of the embedded engine (`chdb:///abs/path` → `/abs/path`)."""
    if not warehouse_url.startswith("chdb://"):
        raise ValueError(f"not an embedded warehouse URL: {redact_url(warehouse_url)}")
    path = unquote(urlsplit(warehouse_url).path)
    if not path or path == "/":
        raise ValueError(f"WAREHOUSE_URL {warehouse_url!r} needs a path: chdb:///abs/path")
    return path


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and metadata."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
