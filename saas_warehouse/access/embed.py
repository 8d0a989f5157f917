"""Metabase signed embedding: a dashboard URL whose `tenant_id` parameter is locked.

Metabase verifies the token with the embedding secret and refuses one whose locked parameter
was changed; the row policies still protect the data behind it (docs/bi.md).
"""

from __future__ import annotations

import time

import jwt

from saas_warehouse.access.model import check_tenant_id


def signed_dashboard_url(site_url: str, secret_key: str, dashboard: int, tenant_id: str,
                         *, minutes: int = 10, now: float | None = None) -> str:
    """`<site>/embed/dashboard/<token>#bordered=true&titled=true`, valid for `minutes`."""
    if dashboard < 1 or minutes < 1:
        raise ValueError("dashboard id and token lifetime must be positive")
    issued = int(time.time() if now is None else now)
    payload = {
        "resource": {"dashboard": dashboard},
        "params": {"tenant_id": check_tenant_id(tenant_id)},
        "exp": issued + 60 * minutes,
    }
    token = jwt.encode(payload, secret_key, algorithm="HS256")
    return f"{site_url.rstrip('/')}/embed/dashboard/{token}#bordered=true&titled=true"
