"""Dagster's run records in the warehouse: `raw.pipeline_runs`, one row per finished run of the
warehouse job (its days, status, load and build seconds, the step that failed), which the ops
view `analytics.ops_pipeline_daily` reads beside the load ledger.

`saas-warehouse run` records its run as it ends (runner.py); the two run-status sensors here
record the runs Dagster launches (the schedule, the exports sensor, backfills, the UI). Each
pass also records the job's recent finished runs the table lacks. A run recorded twice is one
row (ReplacingMergeTree on run_id)."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

import dagster as dg
from clickhouse_connect.driver.client import Client

from ingest_loaders.tables import PIPELINE_RUNS_COLUMNS, PIPELINE_RUNS_TABLE, bookkeeping_ddl
from orchestration.jobs import daily_warehouse_job
from orchestration.partitions import tagged_days
from orchestration.resources import WarehouseResource
from orchestration.transform.assets import DBT_STEP
from saas_warehouse.cluster import SINGLE_SERVER, Cluster

# A sensor tick waits this long for the embedded warehouse, then fails and is retried on the
# next tick (a run holding it may take minutes; a tick must end within 60 s).
SENSOR_LOCK_WAIT_SECONDS = 20
# How many of the job's latest finished runs each record pass checks for a missing record.
RECENT_RUNS = 50


@dataclass(frozen=True)
class PipelineRun:
    """A row of `raw.pipeline_runs`."""

    run_id: str
    job: str
    status: str  # success | failure
    first_day: dt.date | None
    last_day: dt.date | None
    started_at: dt.datetime
    ended_at: dt.datetime
    load_seconds: float  # the loader steps' time, summed
    build_seconds: float  # the dbt step's time (0 when it did not run)
    failed_step: str  # the first step that failed, "" when none
    recorded_at: dt.datetime


def _utc(timestamp: float | None) -> dt.datetime:
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC) if timestamp else dt.datetime.now(dt.UTC)
    return moment.replace(tzinfo=None)


def pipeline_run(instance: dg.DagsterInstance, record: dg.RunRecord) -> PipelineRun:
    """The record of a finished run, from its run record and the instance's step records."""
    run = record.dagster_run
    run_id = run.run_id
    steps = instance.get_run_step_stats(run_id)

    def seconds(stats: list) -> float:
        return sum((s.end_time or s.start_time or 0) - (s.start_time or 0) for s in stats)

    # The step's status is Dagster's StepEventStatus, which dagster does not export.
    failed = sorted((s for s in steps if s.status and s.status.value == "FAILURE"),
                    key=lambda s: s.start_time or 0)
    days = tagged_days(dict(run.tags))
    return PipelineRun(
        run_id=run_id,
        job=run.job_name,
        status="success" if run.status == dg.DagsterRunStatus.SUCCESS else "failure",
        first_day=days[0] if days else None,
        last_day=days[1] if days else None,
        started_at=_utc(record.start_time or record.create_timestamp.timestamp()),
        ended_at=_utc(record.end_time),
        load_seconds=seconds([s for s in steps if s.step_key != DBT_STEP]),
        build_seconds=seconds([s for s in steps if s.step_key == DBT_STEP]),
        failed_step=failed[0].step_key if failed else "",
        recorded_at=_utc(None),
    )


def record_runs(client: Client, instance: dg.DagsterInstance, run_id: str,
                cluster: Cluster = SINGLE_SERVER) -> int:
    """Record `run_id`, and every other of the job's last RECENT_RUNS finished runs that
    raw.pipeline_runs lacks: a record missed when the warehouse could not take it (a sensor
    moves past a run whose tick failed) is written by the next run's. Returns how many."""
    if not client.command(f"EXISTS TABLE {PIPELINE_RUNS_TABLE}"):  # no DDL on every pass
        client.command(bookkeeping_ddl(cluster)[PIPELINE_RUNS_TABLE])
    finished = instance.get_run_records(
        filters=dg.RunsFilter(job_name=daily_warehouse_job.name,
                              statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]),
        limit=RECENT_RUNS)
    recent = {r.dagster_run.run_id for r in finished} - {run_id}
    recorded = {row[0] for row in client.query(
        f"SELECT run_id FROM {PIPELINE_RUNS_TABLE} WHERE run_id IN {{ids:Array(String)}}",
        parameters={"ids": sorted(recent)}).result_rows}
    by_id = {r.dagster_run.run_id: r for r in finished}
    this_run = by_id.get(run_id) or instance.get_run_record_by_id(run_id)
    if this_run is None:
        raise ValueError(f"no run {run_id} in this Dagster instance")
    runs = [pipeline_run(instance, r)
            for r in [this_run, *(by_id[i] for i in sorted(recent - recorded))]]
    client.insert(PIPELINE_RUNS_TABLE, [list(astuple(run)) for run in runs],
                  column_names=[name for name, _ in PIPELINE_RUNS_COLUMNS])
    return len(runs)


def run_recorder(status: dg.DagsterRunStatus, name: str) -> dg.SensorDefinition:
    """A sensor that records each run of the warehouse job that ends with `status`."""

    @dg.run_status_sensor(
        run_status=status,
        name=name,
        description=f"Records each run of the warehouse job that ends in {status.value} in "
                    "raw.pipeline_runs (the ops view's run records).",
        monitored_jobs=[daily_warehouse_job],
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def record(context: dg.RunStatusSensorContext, warehouse: WarehouseResource) -> None:
        with warehouse.open(wait_seconds=SENSOR_LOCK_WAIT_SECONDS) as client:
            record_runs(client, context.instance, context.dagster_run.run_id,
                        warehouse.topology)

    return record


record_succeeded_runs = run_recorder(dg.DagsterRunStatus.SUCCESS, "record_succeeded_runs")
record_failed_runs = run_recorder(dg.DagsterRunStatus.FAILURE, "record_failed_runs")
