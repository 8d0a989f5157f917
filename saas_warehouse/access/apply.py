"""`saas-warehouse access apply`: bring a ClickHouse server's access in line with the model."""

from __future__ import annotations

import sys

from saas_warehouse.access.model import BI_DATABASE
from saas_warehouse.access.server import access_plan, stale_logins
from saas_warehouse.access.sessions import access_model, read_passwords
from saas_warehouse.warehouse import open_warehouse


def apply_access(warehouse_url: str, *, dry_run: bool, passwords_file: str | None) -> None:
    passwords = read_passwords(passwords_file)
    model = access_model(warehouse_url)
    plan = access_plan(model, passwords)
    missing = [t for t in model.tenants if t not in passwords]
    if missing:
        print(f"note: {len(missing)} tenant(s) have no password and get no login: "
              f"{', '.join(missing[:10])}{' …' if len(missing) > 10 else ''}", file=sys.stderr)
    if dry_run or warehouse_url.startswith("chdb://"):
        if not dry_run:
            print("note: the embedded engine loads its users config per session; nothing to "
                  "apply. The server DDL would be:", file=sys.stderr)
        for statement in plan:
            print(f"{statement.shown};")
        return
    with open_warehouse(warehouse_url) as client:
        existing = [r[0] for r in client.query("SELECT name FROM system.users").result_rows]
        for user in stale_logins(existing, model, passwords):
            client.command(f"DROP ROW POLICY IF EXISTS {user} ON {BI_DATABASE}.*")
            client.command(f"DROP USER IF EXISTS {user}")
            print(f"dropped stale login {user}", file=sys.stderr)
        for statement in plan:
            client.command(statement.sql)
    print(f"applied {len(plan)} statements", file=sys.stderr)
