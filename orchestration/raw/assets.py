"""One daily-partitioned asset per export source, loading (source, day) into `raw.<source>`."""

import datetime as dt
import warnings
from collections.abc import Callable, Iterator

import dagster as dg
from clickhouse_connect.driver.client import Client

from ingest_loaders.errors import TerminalLoadError, TransientLoadError
from ingest_loaders.load_days import LOAD_WORKERS, load_days
from ingest_loaders.quality import validate_days, warm_up
from ingest_loaders.results import DayStatus
from ingest_loaders.retention import drop_expired_days
from ingest_loaders.tables import (
    LEDGER_COLUMNS,
    LEDGER_TABLE,
    PIPELINE_RUNS_COLUMNS,
    PIPELINE_RUNS_TABLE,
)
from orchestration.partitions import WAREHOUSE_POOL, daily_partitions
from orchestration.raw.checks import check_results, check_specs, range_stop_reason
from orchestration.raw.metadata import (
    day_metadata,
    day_record,
    day_summary,
    markdown_table,
    run_metadata,
)
from orchestration.resources import LandingResource, WarehouseResource
from saas_warehouse.sources import LINEAGE_COLUMNS, Source

# Transient errors (network, S3 5xx, a busy server) are retried; terminal ones raise
# dg.Failure(allow_retries=False) and are not.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
OWNERS = ["team:data-platform"]


def landing_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", source])


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def landing_spec(source: Source) -> dg.AssetSpec:
    """The export files themselves: produced outside Dagster, shown for lineage."""
    return dg.AssetSpec(
        key=landing_key(source.name),
        description=f"{source.description} Files under `<LANDING_URL>/{source.name}/dt=…/`.",
        group_name="landing",
        kinds={"s3"},
        owners=OWNERS,
        partitions_def=daily_partitions,
    )


def bookkeeping_specs(sources: list[Source]) -> list[dg.AssetSpec]:
    """The tables the loaders and the run records keep about the pipeline (the ops view reads
    them), shown for lineage and their columns; they are written as a side effect of loads
    and runs, never materialized on their own."""
    tables = [
        (LEDGER_TABLE, LEDGER_COLUMNS, [raw_key(s.name) for s in sources],
         "One row per file per load attempt: read, loaded, rejected, when the export landed."),
        (PIPELINE_RUNS_TABLE, PIPELINE_RUNS_COLUMNS, [],
         "One row per finished run of the warehouse job: days, status, load and build seconds."),
    ]
    return [
        dg.AssetSpec(
            key=dg.AssetKey(table.split(".")), description=description, group_name="raw",
            kinds={"clickhouse"}, owners=OWNERS, deps=deps,
            metadata={"dagster/table_name": table, "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name, ch_type) for name, ch_type in columns])},
        )
        for table, columns, deps, description in tables
    ]


def _column_schema(source: Source) -> dg.TableSchema:
    """The raw table's columns as the UI lists them: the declared ones with their table types,
    then the loader's lineage columns."""
    return dg.TableSchema(
        columns=[
            *(dg.TableColumn(c.name, c.ch_type, description=c.description,
                             constraints=dg.TableColumnConstraints(nullable=not c.required))
              for c in source.columns),
            *(dg.TableColumn(name, ch_type, description="lineage: set by the loader")
              for name, ch_type in LINEAGE_COLUMNS),
        ]
    )


def _asset_decorator(source: Source, key: dg.AssetKey) -> Callable[..., dg.AssetsDefinition]:
    with warnings.catch_warnings():
        # `backfill_policy` is marked beta; it is what makes a 30-day backfill one run, not
        # thirty. Silenced for this one call, not process-wide.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.asset(
            key=key,
            description=f"{source.description} Loaded per day, atomically; bad rows → raw.rejects.",
            group_name="raw",
            kinds={"clickhouse"},
            owners=OWNERS,
            deps=[landing_key(source.name)],
            partitions_def=daily_partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
            output_required=False,  # a range with a day missing materializes its days one by one
            retry_policy=TRANSIENT_RETRY,
            pool=WAREHOUSE_POOL,
            freshness_policy=dg.FreshnessPolicy.time_window(
                fail_window=dt.timedelta(hours=source.freshness.error_after_hours),
                warn_window=dt.timedelta(hours=source.freshness.warn_after_hours)),
            metadata={
                "dagster/table_name": source.table,
                "dagster/column_schema": _column_schema(source),
            },
            check_specs=[
                *check_specs(source, key),
                dg.AssetCheckSpec(
                    "partitions_complete",
                    asset=key,
                    description="Every requested day had its _SUCCESS marker and was loaded.",
                ),
            ],
        )


def raw_asset(source: Source) -> dg.AssetsDefinition:
    key = raw_key(source.name)

    @_asset_decorator(source, key)
    def _load(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization | dg.AssetCheckResult]:
        days = [dt.date.fromisoformat(k) for k in context.partition_keys]
        zone = landing.landing()
        warm_up()  # the validation after the loads needs Great Expectations
        workers = max(1, min(LOAD_WORKERS, len(days)))
        with warehouse.open_many(workers, on_wait=context.log.info) as clients:
            try:
                results = load_days(
                    clients, zone, source, days,
                    on_loaded=lambda r: context.log.info(day_summary(r), extra=day_record(r)),
                    cluster=warehouse.topology,
                )
            except TransientLoadError as e:
                context.log.warning(f"{e} — transient, the step will be retried")
                raise
            except TerminalLoadError as e:
                raise dg.Failure(
                    description=f"{e}. {e.hint}",
                    allow_retries=False,
                ) from e
            client = clients[0]
            loaded = [r for r in results if r.status != DayStatus.INCOMPLETE]
            loaded_days = [r.day for r in loaded]
            # Unchanged days are validated too: the checks judge what raw holds now.
            report = validate_days(client, source, loaded_days) if loaded_days else None
            rows_in_raw = _rows_in_raw(client, source, loaded_days)
            preview = _preview(client, source, loaded_days)
            dropped = drop_expired_days(client, source, keep=frozenset(days))
        if dropped:
            context.log.info(f"{source.name}: retention ({source.retention_days} days) dropped "
                             f"{len(dropped)} day(s) from raw: {dropped[0]} .. {dropped[-1]}")
        incomplete = [r.day.isoformat() for r in results if r.status == DayStatus.INCOMPLETE]
        if report is None:
            raise dg.Failure(
                description=(
                    f"{source.name}: no _SUCCESS marker for {', '.join(incomplete)} in "
                    f"{zone.describe()}: the export is not complete yet. The sensor starts a run "
                    "when it is."
                ),
                allow_retries=False,
            )
        context.log.info(
            f"{source.name}: validated in {report.seconds:.2f}s (SQL {report.sql_seconds:.2f}s, "
            f"Great Expectations {report.ge_seconds:.2f}s on {report.sample_rows:,} rows)"
        )
        shared: dict[str, dg.MetadataValue | str] = {
            **run_metadata(results), "preview": dg.MetadataValue.md(preview),
            "validation_seconds": dg.MetadataValue.float(round(report.seconds, 3)),
            "warehouse": warehouse.describe(), "landing": zone.describe(),
            "days_dropped_by_retention": dg.MetadataValue.int(len(dropped)),
        }
        checks = [
            *check_results(report),
            dg.AssetCheckResult(
                check_name="partitions_complete",
                passed=not incomplete,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"incomplete_days": ", ".join(incomplete) or "none"},
            ),
        ]
        # Each (source, day) is its own materialization with its own figures. Dagster marks
        # every partition of a range run when the asset's output is returned, so a range
        # with a day missing reports the loaded days one by one instead and returns no
        # output: the days left out stay unmaterialized and the dbt step does not run.
        if incomplete:
            for r in loaded:
                yield dg.AssetMaterialization(
                    asset_key=key, partition=r.day.isoformat(),
                    metadata={**shared, **day_metadata(r, rows_in_raw.get(r.day, 0))},
                )
            yield from checks
        else:
            for r in loaded:
                context.add_asset_metadata(
                    day_metadata(r, rows_in_raw.get(r.day, 0)), partition_key=r.day.isoformat()
                )
            yield dg.MaterializeResult(metadata=shared, check_results=checks)
        stop = range_stop_reason(source.name, report, incomplete, [d.isoformat() for d in days])
        if stop:
            raise dg.Failure(description=stop, allow_retries=False)

    return _load


def _rows_in_raw(client: Client, source: Source, days: list[dt.date]) -> dict[dt.date, int]:
    if not days:
        return {}
    result = client.query(
        f"SELECT _partition_date, count() FROM {source.table} "
        "WHERE _partition_date IN {days:Array(Date)} GROUP BY _partition_date",
        parameters={"days": days},
    )
    return {day: int(n) for day, n in result.result_rows}


def _preview(client: Client, source: Source, days: list[dt.date]) -> str:
    if not days:
        return "no rows"
    result = client.query(
        f"SELECT {', '.join(source.column_names)} FROM {source.table} "
        "WHERE _partition_date = {day:Date} LIMIT 5",
        parameters={"day": max(days)},
    )
    return markdown_table(list(result.column_names), result.result_rows)


