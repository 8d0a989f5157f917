"""`saas-warehouse embed-url`: a Metabase signed-embedding URL with tenant_id locked."""

from __future__ import annotations

import subprocess
import sys

import jwt
import pytest

from saas_warehouse.settings import Settings
from saas_warehouse_cli.main import main
from serving.access.embed import signed_dashboard_url
from serving.access.model import UnknownTenantError

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
        jwt.decode(token, "f" * 64, algorithms=["HS256"], options={"verify_exp": False})
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, SECRET, algorithms=["HS256"])
    with pytest.raises(UnknownTenantError):
        signed_dashboard_url("https://m", SECRET, 7, "x' OR 1=1")


def test_the_command_signs_for_known_tenants_only(built_warehouse: Settings) -> None:
    env = {"WAREHOUSE_URL": built_warehouse.warehouse_url, "PATH": "/usr/bin:/bin",
           "METABASE_SITE_URL": "https://mb.internal", "METABASE_EMBEDDING_SECRET_KEY": SECRET}
    from serving.access.sessions import access_model

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


SITE = "https://metabase.example.com"


def _claims(url: str) -> dict:
    token = url.split("/embed/dashboard/")[1].split("#")[0]
    return jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})


def test_the_token_lifetime_is_at_most_a_day() -> None:
    # A signed URL cannot be revoked: whoever holds it sees the dashboard until it expires.
    url = signed_dashboard_url(SITE, SECRET, 7, "tnt_a", minutes=1440, now=1_700_000_000)
    assert _claims(url)["exp"] == 1_700_000_000 + 24 * 3600
    for minutes in (0, -5, 1441, 99_999_999_999):
        with pytest.raises(ValueError, match="1 to 1440 minutes"):
            signed_dashboard_url(SITE, SECRET, 7, "tnt_a", minutes=minutes)


@pytest.mark.parametrize("secret", [
    "an-18-byte-secret!",
    SECRET[:-1],
    SECRET + "0",
    SECRET.upper(),  # Metabase's own check ([0-9a-f]{64}) refuses it too
    "g" * 64,
    " " + SECRET[1:],
], ids=["18 bytes", "63 hex", "65 hex", "upper case", "not hex", "a space"])
def test_the_secret_must_be_a_metabase_embedding_key(secret: str) -> None:
    with pytest.raises(ValueError, match="64 hexadecimal characters") as refused:
        signed_dashboard_url(SITE, secret, 7, "tnt_a")
    assert secret not in str(refused.value)


@pytest.mark.parametrize("site", [
    "javascript:alert(1)//",
    "JavaScript:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://metabase.example.com",
    "metabase.example.com",
    "//metabase.example.com",
    "https://",
    "https:///embed",
    "https://admin:hunter2@metabase.example.com",  # the password would reach customers
    "https://metabase.example.com/?x=1",  # the token would land in the query string
    "https://metabase.example.com/#",  # an empty fragment too: the token would follow it
])
def test_the_site_url_must_be_http_with_a_host(site: str) -> None:
    with pytest.raises(ValueError, match="METABASE_SITE_URL") as refused:
        signed_dashboard_url(site, SECRET, 7, "tnt_a")
    assert "hunter2" not in str(refused.value)


def test_site_urls_that_are_fine() -> None:
    for site, prefix in (("http://localhost:3000", "http://localhost:3000/embed/dashboard/"),
                         ("https://example.com/metabase/",
                          "https://example.com/metabase/embed/dashboard/")):
        assert signed_dashboard_url(site, SECRET, 7, "tnt_a").startswith(prefix)


@pytest.mark.parametrize(("env", "args", "reason"), [
    ({}, ["--minutes", "99999999999"], "1 to 1440 minutes"),
    ({"METABASE_EMBEDDING_SECRET_KEY": "an-18-byte-secret!"}, [], "64 hexadecimal characters"),
    ({"METABASE_SITE_URL": "javascript:alert(1)//"}, [], "METABASE_SITE_URL"),
], ids=["lifetime", "secret", "site"])
def test_the_command_refuses_in_one_line_before_opening_the_warehouse(
    env: dict[str, str], args: list[str], reason: str, tmp_path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = tmp_path / "warehouse"
    monkeypatch.setenv("WAREHOUSE_URL", f"chdb://{warehouse}")
    monkeypatch.setenv("METABASE_SITE_URL", "https://mb.internal")
    monkeypatch.setenv("METABASE_EMBEDDING_SECRET_KEY", SECRET)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["embed-url", "--tenant", "tnt_a", "--dashboard", "3", *args]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert reason in err
    assert not warehouse.exists()


def test_the_help_states_the_lifetime_bound(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["embed-url", "--help"])
    assert "1 to 1440 minutes" in " ".join(capsys.readouterr().out.split())
