"""`saas-warehouse access apply`: bring a ClickHouse server's access in line with the model."""

from __future__ import annotations

import sys

from saas_warehouse.urls import WarehouseUrl
from saas_warehouse.warehouse import open_warehouse
from serving.access.limits import TenantLimits
from serving.access.model import BI_DATABASE, SCOPE_KEY
from serving.access.server import (
    IMPERSONATION_PASSWORD_KEY,
    ExistingAccess,
    Statement,
    access_plan,
    cleanup_plan,
)
from serving.access.sessions import access_model, read_passwords


def apply_access(warehouse_url: WarehouseUrl | str, *, dry_run: bool, passwords_file: str | None,
                 limits: TenantLimits) -> None:
    url = WarehouseUrl.of(warehouse_url)
    passwords = read_passwords(passwords_file)
    model = access_model(url)
    plan = access_plan(model, passwords, limits)
    missing = [t for t in model.tenants if t not in passwords]
    if missing:
        print(f"note: {len(missing)} tenant(s) have no password and get a role but no login: "
              f"{', '.join(missing[:10])}{' …' if len(missing) > 10 else ''}", file=sys.stderr)
    for view, why in model.unreadable_views.items():
        print(f"note: {BI_DATABASE}.{view} is readable by no tenant: {why} (declare its "
              f"{SCOPE_KEY} in dbt and rebuild it)", file=sys.stderr)
    if IMPERSONATION_PASSWORD_KEY not in passwords:
        print(f"note: no {IMPERSONATION_PASSWORD_KEY!r} password: no impersonation login",
              file=sys.stderr)
    if dry_run or url.embedded:
        if not dry_run:
            print("note: the embedded engine loads its users config per session; nothing to "
                  "apply. The server DDL would be:", file=sys.stderr)
        _print(plan)
        return
    with open_warehouse(url) as client:
        existing = ExistingAccess(
            users=tuple(r[0] for r in client.query("SELECT name FROM system.users").result_rows),
            roles=tuple(r[0] for r in client.query("SELECT name FROM system.roles").result_rows),
            policies=tuple(
                (r[0], r[1], r[2]) for r in client.query(
                    "SELECT short_name, database, table FROM system.row_policies "
                    "WHERE database = {db:String}", parameters={"db": BI_DATABASE},
                ).result_rows
            ),
        )
        for statement in plan:
            client.command(statement.sql)
        cleanup = cleanup_plan(existing, model, passwords)
        for statement in cleanup:
            client.command(statement.sql)
            print(statement.shown, file=sys.stderr)
    print(f"applied {len(plan)} statements, dropped {len(cleanup)} stale entities",
          file=sys.stderr)


def _print(plan: list[Statement]) -> None:
    for statement in plan:
        print(f"{statement.shown};")
