"""One access model, two renderings that cannot drift: the server DDL and the embedded
engine's users config grant and restrict the same things (docs/contract.md §6)."""

from __future__ import annotations

import random
import re
import string
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse
from serving.access.embedded import tenant_users
from serving.access.limits import TenantLimits
from serving.access.model import (
    TENANT_SYSTEM_TABLES,
    AccessModel,
    tenant_login,
    tenant_role,
)
from serving.access.server import (
    DEFAULT_DENY_POLICY,
    IMPERSONATION_PASSWORD_KEY,
    ExistingAccess,
    access_plan,
    cleanup_plan,
    shared_plan,
)
from serving.access.sessions import access_model, tenant_session

LIMITS = TenantLimits(max_execution_time=90, max_result_rows=1_048_576, queries_per_hour=999,
                      read_rows_per_hour=12_345_678, execution_seconds_per_hour=777)
SETTING = re.compile(
    r"^(?P<name>\w+)(?: = (?P<value>'[^']*'|\S+))?(?: MIN (?P<min>\S+))?(?: MAX (?P<max>\S+))?"
    r"(?: (?P<kind>CONST|CHANGEABLE_IN_READONLY|READONLY|WRITABLE))?$"
)


def model_of(tenants: list[str], scoped=("kpi_tenant_daily", "funnel_daily")) -> AccessModel:
    return AccessModel(tenants=tuple(tenants), tenant_columns=dict.fromkeys(scoped, "tenant_id"),
                       shared_views=("benchmarks_daily",))


def parse(client, statement: str) -> str:
    """ClickHouse's own parser, without running the statement."""
    return client.query("SELECT formatQuery({q:String})", parameters={"q": statement}
                        ).result_rows[0][0]


def server_profile(client, model: AccessModel) -> dict[str, dict]:
    statement = next(s.sql for s in shared_plan(model, LIMITS)
                     if s.sql.startswith("ALTER SETTINGS PROFILE"))
    text = parse(client, statement)
    body = text.split(" ADD SETTINGS ", 1)[1].rsplit(" TO ", 1)[0]
    profile = {}
    for item in body.split(", "):
        match = SETTING.fullmatch(item)
        assert match, item
        profile[match["name"]] = match.groupdict()
    return profile


def test_server_and_embedded_enforce_the_same_profile(built_warehouse: Settings) -> None:
    url = built_warehouse.warehouse_url
    model = access_model(url)
    tenant = model.tenants[0]
    with open_warehouse(url) as admin:
        server = server_profile(admin, model)
    with tenant_session(url, tenant, limits=LIMITS) as client:
        engine = {row[0]: row[1:] for row in client.query(
            "SELECT name, value, min, max, readonly FROM system.settings").result_rows}
    for name, wanted in server.items():
        value, low, high, readonly = engine[name]
        if wanted["value"] is not None and name != "readonly":
            assert value == wanted["value"].strip("'"), name
        assert low == wanted["min"] and high == wanted["max"], name
        assert readonly == (0 if wanted["kind"] == "CHANGEABLE_IN_READONLY" else 1), name
    # The one documented difference: chDB cannot load CHANGEABLE_IN_READONLY, so its tenant
    # profile is readonly = 2 with every other setting constrained read-only.
    assert server["readonly"]["value"] == "1" and engine["readonly"][0] == "2"
    changeable = {n for n, (_, _, _, ro) in engine.items() if ro == 0}
    assert changeable == {n for n, w in server.items() if w["kind"] == "CHANGEABLE_IN_READONLY"}
    assert engine["max_execution_time"][:3] == ("90", "1", "90")


def test_server_and_embedded_have_the_same_quota_grants_and_filters(
    built_warehouse: Settings,
) -> None:
    model = access_model(built_warehouse.warehouse_url)
    tenant = model.tenants[1]
    plan = access_plan(model, {tenant: "pw"}, LIMITS)
    with open_warehouse(built_warehouse.warehouse_url) as admin:
        quota_sql = parse(admin, next(s.sql for s in plan if s.sql.startswith("ALTER QUOTA")))
        policies = [parse(admin, s.sql) for s in plan if s.sql.startswith(
            f"CREATE ROW POLICY OR REPLACE `{tenant_login(tenant)}`")]
    server_quota = dict(re.findall(r"(queries|read_rows|execution_time) = (\d+)", quota_sql))
    # The parser prints 3600 seconds as one hour.
    assert "KEYED BY user_name FOR INTERVAL 1 hour MAX " in quota_sql
    server_filters = {}  # one policy per tenant column, on the views that declare it
    for policy_sql in policies:
        condition = re.search(r" USING (.*) TO ", policy_sql)[1]
        for table in re.search(r" ON (.*?) AS PERMISSIVE", policy_sql)[1].split(", "):
            server_filters[table] = condition
        assert policy_sql.endswith(f"TO {tenant_role(tenant)}")  # unquoted when it can be

    users = tenant_users(model, tenant, LIMITS, engine_settings=["max_threads"])
    interval = users.find("quotas/bi_tenant_quota/interval")
    embedded_quota = {k: interval.findtext(k) for k in ("queries", "read_rows", "execution_time")}
    assert interval.findtext("duration") == "3600"
    assert embedded_quota == server_quota == {
        "queries": "999", "read_rows": "12345678", "execution_time": "777"}
    filters = {f"bi.{view.tag}": view.findtext("filter")
               for view in users.find("users/default/databases/bi")}
    assert filters == server_filters
    assert set(filters) == {f"bi.{v}" for v in model.tenant_scoped_views}
    assert set(filters.values()) == {f"tenant_id = '{tenant}'"}
    embedded_grants = [q.text for q in users.findall("users/default/grants/query")]
    server_grants = [s.sql for s in plan if s.sql.startswith("GRANT SELECT ON bi.*")]
    assert embedded_grants == ["GRANT SELECT ON bi.*"] and len(server_grants) == 1
    # A server also grants the system tables BI tools list the views with (where chDB's guard
    # refuses the rest: it reads no select_from_system_db_requires_grant).
    system = [f"SELECT ON {db}.{t}" for db, tables in TENANT_SYSTEM_TABLES.items() for t in tables]
    assert server_grants[0] == ("GRANT SELECT ON bi.*, " + ", ".join(system)
                                + " TO bi_tenant WITH REPLACE OPTION")


def test_server_ddl_parses_and_repairs_drift(built_warehouse: Settings) -> None:
    model = access_model(built_warehouse.warehouse_url)
    passwords = {t: f"pw-{i}" for i, t in enumerate(model.tenants)}
    passwords[IMPERSONATION_PASSWORD_KEY] = "service-pw"
    plan = access_plan(model, passwords, LIMITS)
    repairs = re.compile(
        r"^(CREATE (USER|ROLE|SETTINGS PROFILE|QUOTA) IF NOT EXISTS|CREATE ROW POLICY OR REPLACE|"
        r"ALTER (USER|SETTINGS PROFILE|QUOTA) |GRANT .* WITH REPLACE OPTION$|GRANT `bi_tenant_)"
    )
    with open_warehouse(built_warehouse.warehouse_url) as client:
        for statement in plan:
            assert repairs.match(statement.sql), statement.shown
            parse(client, statement.sql)
        # ALTER replaces the whole settings list and the user's profiles: drift is repaired.
        profile = parse(client, next(s.sql for s in plan if s.sql.startswith("ALTER SETTINGS")))
        user = parse(client, next(s.sql for s in plan if s.sql.startswith("ALTER USER `tenant_")))
    assert "DROP ALL SETTINGS, DROP ALL PROFILES, ADD SETTINGS" in profile
    assert "HOST ANY" in user and "DROP ALL PROFILES, ADD PROFILE `bi_tenant_profile`" in user
    # Secrets never appear in what is shown (dry-run); a re-render differs only in salt.
    shown = "\n".join(s.shown for s in plan)
    assert "pw-" not in shown and "service-pw" not in shown
    assert shown.count("sha256_hash BY '<redacted>'") == len(model.tenants) + 1
    again = access_plan(model, passwords, LIMITS)
    assert [s.shown for s in again] == [s.shown for s in plan]
    salted = [(a.sql, b.sql) for a, b in zip(again, plan, strict=True) if a.sql != b.sql]
    assert len(salted) == len(model.tenants) + 1  # a fresh salt per login, nothing else
    assert all("IDENTIFIED WITH sha256_hash" in a for a, _ in salted)


def test_new_views_are_denied_by_default_and_the_impersonator_sees_nothing_by_default() -> None:
    model = model_of(["t1", "t2"])
    plan = [s.sql for s in access_plan(model, {"t1": "a", IMPERSONATION_PASSWORD_KEY: "b"})]
    deny = [s for s in plan if DEFAULT_DENY_POLICY in s]
    assert deny == ["CREATE ROW POLICY OR REPLACE bi_tenant_default_deny ON bi.* "
                    "AS PERMISSIVE FOR SELECT USING 0 TO bi_tenant"]
    assert "GRANT bi_tenant TO `bi_tenant_t2` WITH REPLACE OPTION" in plan  # t2: a role only
    assert not [s for s in plan if "`tenant_t2`" in s and "USER" in s]
    service = [s for s in plan if "bi_impersonation" in s]
    assert "GRANT `bi_tenant_t1` TO `bi_impersonation`" in service
    assert "GRANT `bi_tenant_t2` TO `bi_impersonation`" in service
    assert "DEFAULT ROLE NONE" in service[-1]


def test_login_role_and_policy_names_are_injective() -> None:
    # acme-eu and acme_eu once mapped to one login, the second tenant's policy replacing the
    # first one's.
    assert tenant_login("acme-eu") != tenant_login("acme_eu")
    plan = [s.sql for s in access_plan(model_of(["acme-eu", "acme_eu"]),
                                       {"acme-eu": "x", "acme_eu": "y"})]
    for tenant in ("acme-eu", "acme_eu"):
        create = f"CREATE ROW POLICY OR REPLACE `tenant_{tenant}`"
        policy = [s for s in plan if s.startswith(create)]
        assert len(policy) == 1 and f"tenant_id = '{tenant}'" in policy[0]
    rng = random.Random(3)
    alphabet = string.ascii_letters + string.digits + "_-"
    ids = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(20_000)}
    assert len({tenant_login(t) for t in ids}) == len(ids)
    assert len({tenant_role(t) for t in ids}) == len(ids)


def test_no_statement_grows_with_the_tenant_count() -> None:
    def shape(n: int) -> tuple[int, int]:
        tenants = [f"tnt_{i:05d}" for i in range(n)]
        passwords = {t: "pw" for t in tenants} | {IMPERSONATION_PASSWORD_KEY: "pw"}
        plan = access_plan(model_of(tenants), passwords)
        return len(plan), max(len(s.sql) for s in plan)

    (count_10, longest_10), (count_1000, longest_1000) = shape(10), shape(1000)
    assert longest_1000 == longest_10
    assert count_1000 - count_10 == (1000 - 10) * (count_10 - shape(9)[0])


def test_cleanup_drops_what_an_earlier_apply_created() -> None:
    model = model_of(["kept", "no_password"], scoped=("kpi_tenant_daily", "once_shared"))
    existing = ExistingAccess(
        users=("default", "tenant_kept", "tenant_gone", "tenant_no_password", "bi_definer"),
        roles=("bi_tenant", "bi_tenant_kept", "bi_tenant_gone", "bi_tenant_no_password"),
        policies=(("tenant_kept", "bi", "kpi_tenant_daily"),
                  ("tenant_kept", "bi", "dropped_view"),
                  ("tenant_gone", "bi", "kpi_tenant_daily"),
                  ("bi_tenant_default_deny", "bi", ""),
                  # declared shared before, tenant-scoped now: every tenant's rows no more
                  ("bi_tenant_shared", "bi", "once_shared"),
                  ("bi_tenant_shared", "bi", "benchmarks_daily"),
                  ("tenant_kept", "other_db", "t")),
    )
    dropped = [s.sql for s in cleanup_plan(existing, model, {"kept": "pw"})]
    assert dropped == [
        "DROP ROW POLICY IF EXISTS `tenant_kept` ON bi.`dropped_view`",
        "DROP ROW POLICY IF EXISTS `tenant_gone` ON bi.`kpi_tenant_daily`",
        "DROP ROW POLICY IF EXISTS bi_tenant_shared ON bi.`once_shared`",
        "DROP USER IF EXISTS `tenant_gone`",
        "DROP USER IF EXISTS `tenant_no_password`",
        "DROP ROLE IF EXISTS `bi_tenant_gone`",
    ]


def test_limits_are_configured_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "limits.toml"
    path.write_text("max_execution_time = 300\nqueries_per_hour = 50\n")
    limits = TenantLimits.load(str(path))
    assert (limits.max_execution_time, limits.queries_per_hour) == (300, 50)
    assert limits.max_result_rows == TenantLimits().max_result_rows
    plan = " ".join(s.sql for s in shared_plan(model_of(["t"]), limits))
    assert "max_execution_time = 300 MIN 1 MAX 300 CHANGEABLE_IN_READONLY" in plan
    assert "MAX queries = 50," in plan
    users = ET.tostring(tenant_users(model_of(["t"]), "t", limits, ["max_threads"]), "unicode")
    assert "<max_execution_time><min>1</min><max>300</max></max_execution_time>" in users
    for bad, message in [("max_execution_time = 0\n", "must be whole numbers >= 1"),
                         ("max_exec_time = 5\n", "unknown key"), ("x = [\n", "limits file")]:
        path.write_text(bad)
        with pytest.raises(ValueError, match=message):
            TenantLimits.load(str(path))
