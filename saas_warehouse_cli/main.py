"""The `saas-warehouse` command (CONTRACT.md §2)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from saas_warehouse.contract import PLANS
from saas_warehouse.settings import Settings
from saas_warehouse_cli.output import (
    print_kpi_summary,
    print_raw_counts,
    print_table,
    terminal_text,
)

DEMO_START = dt.date(2026, 10, 1)
DEMO_DAYS = 30

EPILOG = """examples:
  saas-warehouse generate --start 2026-10-01 --days 30
  saas-warehouse run --start 2026-10-01 --end 2026-10-30
  saas-warehouse query "SELECT count() FROM raw.product_events"
  saas-warehouse demo
  saas-warehouse report --tenant tnt_146473bb --out report.html

settings (environment): WAREHOUSE_URL, LANDING_URL, AWS_*, DAGSTER_HOME — see README.md
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from e


def _parser() -> argparse.ArgumentParser:
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
    gen.add_argument("--tenants", type=int, default=40)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--events-per-day", type=int, default=20_000)
    gen.add_argument("--landing", help="landing URL (default: LANDING_URL)")

    run = sub.add_parser("run", help="load and build every asset for a range of days")
    run.add_argument("--start", type=_date, required=True)
    run.add_argument("--end", type=_date, required=True)
    demo = sub.add_parser("demo", help=f"generate {DEMO_DAYS} days and run them on the defaults")
    for command in (run, demo):
        command.add_argument("--verbose", action="store_true",
                             help="stream Dagster's and dbt's logs instead of progress bars")

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
    report.add_argument("--plan", choices=PLANS,
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
    serve.add_argument("--host", default="127.0.0.1")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "generate":
            _generate(settings, args.start, args.days, args.tenants, args.seed,
                      args.events_per_day, args.landing)
        elif args.command == "run":
            _run(settings, args.start, args.end, args.verbose)
        elif args.command == "demo":
            _demo(settings, args.verbose)
        elif args.command == "query":
            _query(settings, args.sql, args.format, args.tenant)
        elif args.command == "report":
            _report(settings, args.out, args.tenant, args.plan)
        elif args.command == "access":
            _access_apply(settings, args.dry_run, args.passwords_file)
        elif args.command == "sources":
            _sources(args.action)
        elif args.command == "serve":
            from serving.endpoint.serve import serve as serve_endpoint

            serve_endpoint(settings, args.host, args.port)
        elif args.command == "embed-url":
            _embed_url(settings, args.tenant, args.dashboard, args.minutes)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the contract: one line on stderr, non-zero exit
        from saas_warehouse.warehouse import clickhouse_message

        # A message may quote a producer's file name or value: shown, never obeyed.
        reason = terminal_text(clickhouse_message(e) or type(e).__name__)
        print(f"error: {reason}", file=sys.stderr)
        if args.debug:
            import traceback

            traceback.print_exc()
        return 1
    return 0


def _generate(settings: Settings, start: dt.date, days: int, tenants: int, seed: int,
              events_per_day: int, landing: str | None) -> None:
    from sample_exports import generate

    summary = generate(landing or settings.landing_url, start, days, tenants=tenants, seed=seed,
                       events_per_day=events_per_day)
    rows = ", ".join(f"{k} {v:,}" for k, v in summary.rows.items())
    print(f"wrote {summary.days} day(s) to {landing or settings.landing_url}: {rows} "
          f"in {summary.seconds:.1f}s", file=sys.stderr)


def _run(settings: Settings, start: dt.date, end: dt.date, verbose: bool) -> None:
    from orchestration.runner import run_range

    print(f"loading and building {start} .. {end} "
          f"({settings.landing_url} → {settings.warehouse.redacted()})", file=sys.stderr)
    summary = run_range(settings, start, end, progress=None if verbose else sys.stderr)
    print(
        f"run {summary.run_id} succeeded in {summary.seconds:.1f}s: "
        f"{summary.materializations} materializations; checks {summary.checks_passed} passed, "
        f"{summary.checks_warned} warned, {summary.checks_failed} failed. Logs and the asset "
        f"graph: `make dev` (Dagster UI, DAGSTER_HOME={settings.dagster_home})",
        file=sys.stderr,
    )
    print_raw_counts(settings, start, end)


def _demo(settings: Settings, verbose: bool) -> None:
    end = DEMO_START + dt.timedelta(days=DEMO_DAYS - 1)
    _generate(settings, DEMO_START, DEMO_DAYS, 40, 7, 20_000, None)
    _run(settings, DEMO_START, end, verbose)
    print_kpi_summary(settings, end)
    print("\nnext: saas-warehouse query \"SELECT * FROM bi.kpi_tenant_daily LIMIT 10\"  "
          "(add --tenant <tenant_id> to see what that tenant's BI login sees)")


def _query(settings: Settings, sql: str, fmt: str, tenant: str | None) -> None:
    from serving.access.sessions import analyst_session

    # `--tenant ""` is a tenant session that refuses, never the analyst's.
    session = _tenant_session(settings, tenant) if tenant is not None else analyst_session(
        settings.warehouse
    )
    with session as client:
        if fmt in ("csv", "json"):
            # Machine formats, for a program rather than a terminal: written as ClickHouse
            # quotes them. JSON escapes C0 controls (\u001B) but not DEL, C1 (\x9b) or bidi
            # characters; CSV passes every control character through inside its quotes. Only
            # `table` (print_table) shows them escaped.
            output = "CSVWithNames" if fmt == "csv" else "JSONEachRow"
            sys.stdout.write(client.raw_query(sql, fmt=output).decode())
            return
        result = client.query(sql)
    print_table(list(result.column_names), result.result_rows)


def _tenant_session(settings: Settings, tenant: str):
    from serving.access.limits import TenantLimits
    from serving.access.sessions import read_passwords, tenant_session

    return tenant_session(
        settings.warehouse, tenant,
        limits=TenantLimits.load(settings.tenant_limits_file),
        passwords=read_passwords(settings.tenant_passwords_file),
    )


def _report(settings: Settings, out: str, tenant: str | None, plan: str | None) -> None:
    from serving.report import write_report

    session = _tenant_session(settings, tenant) if tenant is not None else None
    path = write_report(settings.warehouse_url, out, tenant=tenant, plan=plan, session=session)
    print(f"wrote {path}", file=sys.stderr)


def _access_apply(settings: Settings, dry_run: bool, passwords_file: str | None) -> None:
    from serving.access.apply import apply_access
    from serving.access.limits import TenantLimits

    apply_access(settings.warehouse, dry_run=dry_run,
                 passwords_file=passwords_file or settings.tenant_passwords_file,
                 limits=TenantLimits.load(settings.tenant_limits_file))


def _sources(action: str) -> None:
    from ingest_loaders.dbt_sources import DBT_SOURCES_FILE, render_dbt_sources, write_dbt_sources
    from ingest_loaders.sources import SOURCES

    if action == "list":
        print_table(["source", "format", "columns", "schema_policy", "id_column", "day_column"],
                    [[s.name, s.file_format, len(s.columns), s.schema_policy, s.id_column or "",
                      s.day_column or ""] for s in SOURCES.values()])
    elif action == "generate":
        changed = write_dbt_sources(SOURCES)
        print(f"{'wrote' if changed else 'unchanged:'} {DBT_SOURCES_FILE}", file=sys.stderr)
    elif DBT_SOURCES_FILE.read_text() != render_dbt_sources(SOURCES):
        raise ValueError(f"{DBT_SOURCES_FILE} is out of date with sources/*.yml: run "
                         "`saas-warehouse sources generate`")


def _embed_url(settings: Settings, tenant: str, dashboard: int, minutes: int) -> None:
    from serving.access.embed import signed_dashboard_url
    from serving.access.sessions import access_model

    if not settings.metabase_site_url or not settings.metabase_secret_key:
        raise ValueError("set METABASE_SITE_URL and METABASE_EMBEDDING_SECRET_KEY (Metabase: "
                         "Admin → Embedding → Static embedding)")
    # Signed first: a bad site URL, secret or lifetime is refused before the warehouse opens;
    # the URL is printed only for a tenant that exists.
    url = signed_dashboard_url(settings.metabase_site_url, settings.metabase_secret_key,
                               dashboard, tenant, minutes=minutes)
    access_model(settings.warehouse).require_tenant(tenant)
    print(url)


if __name__ == "__main__":
    sys.exit(main())
