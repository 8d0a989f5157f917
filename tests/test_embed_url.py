"""`saas-warehouse embed-url`: a Metabase signed-embedding URL with tenant_id locked."""

from __future__ import annotations

import subprocess
import sys

import jwt
import pytest

from saas_warehouse.access.embed import signed_dashboard_url
from saas_warehouse.access.model import UnknownTenantError
from saas_warehouse.settings import Settings

SECRET = "0123456789abcdef" * 4


def test_the_token_locks_the_tenant_and_expires() -> None:
    url = signed_dashboard_url("https://metabase.example.com/", SECRET, 7, "tnt_a-1",
                               minutes=5, now=1_700_000_000)  # 2023: long expired
    prefix = "https://metabase.example.com/embed/dashboard/"
    assert url.startswith(prefix) and url.endswith("#bordered=true&titled=true")
    token = url[len(prefix):].split("#")[0]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {"resource": {"dashboard": 7}, "params": {"tenant_id": "tnt_a-1"},
                      "exp": 1_700_000_300}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another secret", algorithms=["HS256"], options={"verify_exp": False})
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, SECRET, algorithms=["HS256"])
    with pytest.raises(UnknownTenantError):
        signed_dashboard_url("https://m", SECRET, 7, "x' OR 1=1")


def test_the_command_signs_for_known_tenants_only(built_warehouse: Settings) -> None:
    env = {"WAREHOUSE_URL": built_warehouse.warehouse_url, "PATH": "/usr/bin:/bin",
           "METABASE_SITE_URL": "https://mb.internal", "METABASE_EMBEDDING_SECRET_KEY": SECRET}
    from saas_warehouse.access.sessions import access_model

    tenant = access_model(built_warehouse.warehouse_url).tenants[0]
    command = [sys.executable, "-m", "saas_warehouse_cli", "embed-url", "--dashboard", "3"]
    ok = subprocess.run([*command, "--tenant", tenant], env=env, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    token = ok.stdout.strip().split("/embed/dashboard/")[1].split("#")[0]
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["params"] == {"tenant_id": tenant}
    assert SECRET not in ok.stdout + ok.stderr
    unknown = subprocess.run([*command, "--tenant", "tnt_nope"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert unknown.returncode == 1 and "unknown tenant" in unknown.stderr
    no_secret = {k: v for k, v in env.items() if k != "METABASE_EMBEDDING_SECRET_KEY"}
    missing = subprocess.run([*command, "--tenant", tenant], env=no_secret,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "METABASE_EMBEDDING_SECRET_KEY" in missing.stderr
