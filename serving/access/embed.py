"""Metabase signed embedding: a dashboard URL whose `tenant_id` parameter is locked.

Metabase verifies the token with the embedding secret and refuses one whose locked parameter
was changed; the row policies still protect the data behind it (docs/bi.md).
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import jwt

from serving.access.model import check_tenant_id

# A signed URL cannot be revoked: whoever holds it sees the dashboard until it expires.
MAX_MINUTES = 1440  # a day
# What Metabase itself accepts as `embedding-secret-key` (its setter asserts this pattern):
# 256 bits, hex-encoded. Metabase generates one with Admin → Embedding → Static embedding.
_METABASE_SECRET = re.compile(r"[0-9a-f]{64}")


def signed_dashboard_url(site_url: str, secret_key: str, dashboard: int, tenant_id: str,
                         *, minutes: int = 10, now: float | None = None) -> str:
    """`<site>/embed/dashboard/<token>#bordered=true&titled=true`, valid for `minutes`: 1 to
    MAX_MINUTES (1440, a day). Refuses (ValueError) a site URL that is not http(s) with a host,
    a secret that is not Metabase's 64 hexadecimal characters, and any other lifetime."""
    site = _site_url(site_url)
    if not _METABASE_SECRET.fullmatch(secret_key):
        # Never the secret itself in the message: it ends up in terminals and logs.
        raise ValueError(
            f"METABASE_EMBEDDING_SECRET_KEY is not a Metabase embedding secret ({len(secret_key)} "
            "characters): it must be 64 hexadecimal characters (0-9, a-f; 256 bits). Copy it "
            "from Metabase: Admin → Embedding → Static embedding")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"the token lifetime must be 1 to {MAX_MINUTES} minutes (a day), not "
                         f"{minutes}: sign a new URL when one expires")
    if dashboard < 1:
        raise ValueError(f"the dashboard id must be positive, not {dashboard}")
    issued = int(time.time() if now is None else now)
    payload = {
        "resource": {"dashboard": dashboard},
        "params": {"tenant_id": check_tenant_id(tenant_id)},
        "exp": issued + 60 * minutes,
    }
    token = jwt.encode(payload, secret_key, algorithm="HS256")
    return f"{site}/embed/dashboard/{token}#bordered=true&titled=true"


def _site_url(text: str) -> str:
    """METABASE_SITE_URL without its trailing `/`, once it is a plain http(s) base URL: it
    goes to customers' browsers, so no `javascript:` and no password in it."""
    try:
        parts = urlsplit(text)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number 1-65535, a broken [IPv6] host
        valid = False
    if not valid or any(c.isspace() for c in text):
        raise ValueError("METABASE_SITE_URL must be Metabase's http(s) address with a host, "
                         "e.g. https://metabase.example.com")
    if parts.username is not None or "?" in text or "#" in text:
        raise ValueError("METABASE_SITE_URL must be Metabase's base address only: no "
                         "user:password@, ? query or # fragment")
    return text.rstrip("/")
