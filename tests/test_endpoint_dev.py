"""`make dev`'s logins: made once, random, readable by their owner only, completed with a
tenant the warehouse gained, never rewritten."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from support.endpoint_server import TOY_TENANTS, build_toy_warehouse

from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse
from serving.endpoint.dev import dev_logins


def test_dev_logins_are_made_once_private_and_completed(tmp_path: Path) -> None:
    url = build_toy_warehouse(tmp_path / "wh")
    settings = Settings(warehouse_url=url, landing_url=str(tmp_path / "landing"),
                        dagster_home=str(tmp_path / "home"))
    serve_file, tenant_file, admin = dev_logins(settings)
    serve_passwords, tenant_passwords = (json.loads(f.read_text())
                                         for f in (serve_file, tenant_file))
    assert set(serve_passwords) == {"admin", "analyst"} and serve_passwords["admin"] == admin
    assert set(tenant_passwords) == set(TOY_TENANTS)
    passwords = [*serve_passwords.values(), *tenant_passwords.values()]
    assert len(set(passwords)) == len(passwords) and min(map(len, passwords)) >= 20
    for f in (serve_file, tenant_file):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f

    with open_warehouse(url) as client:  # a tenant the loader added since
        client.command("INSERT INTO analytics.dim_tenants (tenant_id) VALUES ('tnt_new')")
    assert dev_logins(settings)[2] == admin
    again = json.loads(tenant_file.read_text())
    assert {k: again[k] for k in tenant_passwords} == tenant_passwords  # never rewritten
    assert set(again) == {*TOY_TENANTS, "tnt_new"}
