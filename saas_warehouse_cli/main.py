"""The `saas-warehouse` command (docs/contract.md §2)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import TypedDict, Unpack, cast

from saas_warehouse.settings import Settings
from saas_warehouse_cli.arguments import DEMO_DAYS, DEMO_START, build_parser
from saas_warehouse_cli.output import (
    print_kpi_summary,
    print_raw_counts,
    print_table,
    terminal_text,
)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "generate":
            shape = {"tenants": args.tenants, "seed": args.seed,
                     "events_per_day": args.events_per_day}
            _generate(settings, args.start, args.days, args.landing,
                      **cast(_Shape, {k: v for k, v in shape.items() if v is not None}))
        elif args.command == "run":
            _run(settings, args.start, args.end, args.verbose)
        elif args.command == "demo":
            _demo(settings, args.verbose)
        elif args.command == "ci":
            from saas_warehouse_cli.ci import run_ci

            run_ci(args.base)
        elif args.command == "query":
            _query(settings, args.sql, args.format, args.tenant)
        elif args.command == "report":
            _report(settings, args.out, args.tenant, args.plan)
        elif args.command == "access":
            _access_apply(settings, args.dry_run, args.passwords_file)
        elif args.command == "sources":
            _sources(args.action)
        elif args.command == "serve":
            from serving.endpoint.serve import serve

            serve(settings, args.host, args.port)
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


class _Shape(TypedDict, total=False):
    """What `generate` may be told; the rest is the generator's own defaults."""

    tenants: int
    seed: int
    events_per_day: int


def _generate(settings: Settings, start: dt.date, days: int, landing: str | None = None,
              **shape: Unpack[_Shape]) -> None:
    from sample_exports import generate

    summary = generate(landing or settings.landing_url, start, days, **shape)
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
        f"{summary.checks_warned} warned, {summary.checks_failed} failed",
        file=sys.stderr,
    )
    for check in summary.checks_not_passed:
        print(f"  did not pass: {check}", file=sys.stderr)
    logs = f"dbt's log: {summary.log_file}; " if summary.log_file else ""
    print(f"{logs}the run's events and the asset graph: `make dev` (Dagster UI, "
          f"DAGSTER_HOME={settings.dagster_home})", file=sys.stderr)
    print_raw_counts(settings, start, end)


def _demo(settings: Settings, verbose: bool) -> None:
    end = DEMO_START + dt.timedelta(days=DEMO_DAYS - 1)
    _generate(settings, DEMO_START, DEMO_DAYS)
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
    from saas_warehouse.sources import load_sources

    sources = load_sources()
    if action == "list":
        print_table(["source", "format", "columns", "schema_policy", "id_column", "day_column"],
                    [[s.name, s.file_format, len(s.columns), s.schema_policy, s.id_column or "",
                      s.day_column or ""] for s in sources.values()])
    elif action == "generate":
        changed = write_dbt_sources(sources)
        print(f"{'wrote' if changed else 'unchanged:'} {DBT_SOURCES_FILE}", file=sys.stderr)
    elif DBT_SOURCES_FILE.read_text() != render_dbt_sources(sources):
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
