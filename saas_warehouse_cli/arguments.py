"""The `saas-warehouse` command line: its subcommands and their arguments (docs/contract.md §2).
What each one does is in main.py."""

from __future__ import annotations

import argparse
import datetime as dt

from saas_warehouse.contract import plans

DEMO_START = dt.date(2026, 10, 1)
DEMO_DAYS = 30

CI_DESCRIPTION = (
    "Builds the base ref on sample exports once (cached in .ci-cache/), then `dbt build "
    "--select state:modified+` on a copy of its warehouse: the changed models, everything "
    "downstream and their tests. Fails naming every failed model and test. See docs/ci.md.")

EPILOG = """examples:
  saas-warehouse generate --start 2026-10-01 --days 30
  saas-warehouse run --start 2026-10-01 --end 2026-10-30
  saas-warehouse query "SELECT count() FROM raw.product_events"
  saas-warehouse demo
  saas-warehouse ci --base origin/main
  saas-warehouse report --tenant tnt_146473bb --out report.html

settings (environment): WAREHOUSE_URL, LANDING_URL, AWS_*, DAGSTER_HOME — see README.md
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from e


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saas-warehouse",
        description="Declarative ELT warehouse for multi-tenant SaaS analytics on ClickHouse.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true",
                        help="on failure, print the traceback after the one-line reason")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write realistic sample exports to the landing zone")
    gen.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    gen.add_argument("--days", type=int, required=True, help="number of days")
    # Unset: the generator's own defaults (sample_exports.generate), the demo's shape.
    gen.add_argument("--tenants", type=int, help="number of tenants (default: the demo's)")
    gen.add_argument("--seed", type=int, help="random seed (default: the demo's)")
    gen.add_argument("--events-per-day", type=int,
                     help="product events on a weekday, all tenants (default: the demo's)")
    gen.add_argument("--landing", help="landing URL (default: LANDING_URL)")

    run = sub.add_parser("run", help="load and build every asset for a range of days")
    run.add_argument("--start", type=_date, required=True)
    run.add_argument("--end", type=_date, required=True)
    demo = sub.add_parser("demo", help=f"generate {DEMO_DAYS} days and run them on the defaults")
    for command in (run, demo):
        command.add_argument("--verbose", action="store_true",
                             help="stream Dagster's and dbt's logs instead of progress bars")

    ci = sub.add_parser("ci", help="build and test the dbt models changed since a base ref "
                        "(a pull request's CI)", description=CI_DESCRIPTION)
    ci.add_argument("--base", default="main",
                    help="the ref to compare with, e.g. origin/main (default: main)")

    query = sub.add_parser(
        "query",
        help="run one SQL query and print the result",
        description="Runs as an internal analyst (read-only, all tenants), or with --tenant "
        "as that tenant's BI login: its own rows of the bi views only.",
    )
    query.add_argument("sql")
    query.add_argument("--tenant", help="run as this tenant's BI login")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table")

    report = sub.add_parser(
        "report",
        help="render the KPI report (static HTML) from the bi views",
        description="Renders a self-contained HTML page (inline SVG charts, no network) from "
        "the bi views, as the internal analyst (all tenants) or, with --tenant, as that "
        "tenant's BI login: the same isolation as `query --tenant`.",
    )
    report.add_argument("--tenant", help="render as this tenant's BI login")
    report.add_argument("--out", default="report.html", help="output file (default: report.html)")
    report.add_argument("--plan", choices=plans(),
                        help="with --tenant: benchmark against this plan instead of the "
                        "tenant's own plan of each day")

    access = sub.add_parser("access", help="tenant logins, roles and row policies")
    access_sub = access.add_subparsers(dest="access_command", required=True)
    apply = access_sub.add_parser(
        "apply",
        help="create/update them on a ClickHouse server (idempotent)",
        description="Applies the access DDL to the ClickHouse server at WAREHOUSE_URL. "
        "Passwords come from the JSON file named by SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE "
        "(or --passwords-file); tenants without one get no login. The embedded engine needs "
        "nothing applied: each session loads its own users config.",
    )
    apply.add_argument("--dry-run", action="store_true", help="print the SQL, apply nothing")
    apply.add_argument("--passwords-file", help="JSON {tenant_id: password}, kept out of git")

    sources = sub.add_parser(
        "sources",
        help="the export sources declared in sources/*.yml",
        description="Lists the declared sources; `generate` writes dbt's source() entries "
        "(dbt_project/models/staging/_raw__sources.yml) from them, `check` fails when that "
        "file is out of date.",
    )
    sources.add_argument("action", choices=["list", "generate", "check"], nargs="?",
                         default="list")

    serve = sub.add_parser(
        "serve", help="answer ClickHouse's HTTP interface for the embedded warehouse",
        description="Owns the embedded warehouse at WAREHOUSE_URL; logins admin, analyst "
        "(SAAS_WAREHOUSE_SERVE_PASSWORDS_FILE) and tenant_<id> (tenant passwords file).")
    serve.add_argument("--host", default="127.0.0.1",
                       help="a loopback address (plain HTTP: passwords never leave the machine)")
    serve.add_argument("--port", type=int, default=8123)

    embed = sub.add_parser(
        "embed-url",
        help="print a Metabase signed-embedding URL for a tenant's dashboard",
        description="Signs a Metabase embedding token (HS256) for the dashboard with tenant_id as "
        "a locked parameter. Needs METABASE_SITE_URL and METABASE_EMBEDDING_SECRET_KEY; the "
        "tenant must exist in the warehouse.",
    )
    embed.add_argument("--tenant", required=True, help="the tenant the dashboard is locked to")
    embed.add_argument("--dashboard", type=int, required=True, help="Metabase dashboard id")
    embed.add_argument("--minutes", type=int, default=10,
                       help="token lifetime, 1 to 1440 minutes (a day; default: 10): a signed "
                       "URL works for whoever holds it until it expires")
    return parser
