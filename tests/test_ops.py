"""The pipeline's own service levels (issue 28): every run of the warehouse job is recorded in
raw.pipeline_runs from Dagster's run records (by `saas-warehouse run`, and by the run-status
sensors for the runs Dagster launches), and analytics.ops_pipeline_daily says what the export
markers, the files, the load ledger and those records say; a day loaded hours after its export
landed warns."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import dagster as dg
import pytest
from support.landing_frames import expected_counts
from support.samples import SAMPLE_START
from support.warehouse_reads import query

from orchestration.resources import WarehouseResource
from orchestration.run_records import record_failed_runs, record_succeeded_runs
from orchestration.runner import RunFailed, run_range
from orchestration.transform.assets import DBT_STEP
from saas_warehouse.settings import Settings
from saas_warehouse.sources import load_sources
from saas_warehouse.warehouse import open_warehouse

DAY1, DAY2 = SAMPLE_START, SAMPLE_START + dt.timedelta(days=1)
LATE_HOURS = 10  # users' day 1 export landed this long before the run (the warn limit is 6)
LAG_CHECK = "assert_exports_loaded_within_lag_hours"
RUN_COLUMNS = ("run_id, status, first_day, last_day, failed_step, build_seconds, load_seconds, "
               "started_at, ended_at")


def marker_time(landing: Path, source: str, day: dt.date) -> dt.datetime:
    seconds = (landing / source / f"dt={day}" / "_SUCCESS").stat().st_mtime
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def step_seconds(instance: dg.DagsterInstance, run_id: str, dbt: bool) -> float:
    """The steps' time from the run's event log: each step's start to its success or failure
    (the test's runs retry no step)."""
    started, total = {}, 0.0
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None or (event.step_key == DBT_STEP) != dbt:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            total += entry.timestamp - started.pop(event.step_key)
    return total


def evaluate_run_sensors(instance: dg.DagsterInstance, url: str, run_ids: list[str]) -> None:
    """Each run's status sensor, as the daemon evaluates it after the run ends."""
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        failed = run.status == dg.DagsterRunStatus.FAILURE
        event_type = dg.DagsterEventType.RUN_FAILURE if failed else dg.DagsterEventType.RUN_SUCCESS
        event = instance.all_logs(run_id, of_type=event_type)[-1].dagster_event
        context = dg.build_run_status_sensor_context(
            sensor_name="record_failed_runs" if failed else "record_succeeded_runs",
            dagster_event=event, dagster_instance=instance, dagster_run=run,
            resources={"warehouse": WarehouseResource(url=url)})
        (record_failed_runs if failed else record_succeeded_runs)(context)


@pytest.mark.slow
def test_ops_view_matches_the_markers_the_files_the_ledger_and_dagsters_run_records(
    settings: Settings, landing_dir: Path, instance: dg.DagsterInstance
) -> None:
    late = time.time() - LATE_HOURS * 3600
    # Day 1's users export: one row with an unreadable signup time (rejected), landed late.
    users = next((landing_dir / "users" / f"dt={DAY1}").glob("*.csv"))
    users.write_text(users.read_text() + "u_bad,tnt_bad,admin,not-a-time,0\n")
    os.utime(landing_dir / "users" / f"dt={DAY1}" / "_SUCCESS", (late, late))
    first = run_range(settings, DAY1, DAY1, instance=instance)
    # Day 2's tenants export lacks a required column: its load fails, dbt does not run.
    broken = next((landing_dir / "tenants" / f"dt={DAY2}").glob("*.csv"))
    broken.write_text("tenant_name,plan\nx,free\n")
    with pytest.raises(RunFailed, match="tenants"):
        run_range(settings, DAY2, DAY2, instance=instance)
    second = instance.get_runs(limit=1)[0].run_id

    # The late day warned (a warn check: the run succeeded), naming the ops view's check.
    assert any(name.endswith(f":{LAG_CHECK}") for name in first.checks_not_passed), first

    url = settings.warehouse_url
    runs = {row[0]: row[1:] for row in query(
        url, f"SELECT {RUN_COLUMNS} FROM raw.pipeline_runs FINAL ORDER BY started_at")}
    assert list(runs) == [first.run_id, second]
    assert runs[first.run_id][:4] == ("success", DAY1, DAY1, "")
    status, first_day, last_day, failed_step = runs[second][:4]
    assert (status, first_day, last_day) == ("failure", DAY2, DAY2) and "tenants" in failed_step
    for run_id, (*_, build, load, started, ended) in runs.items():
        assert build == pytest.approx(step_seconds(instance, run_id, dbt=True), abs=0.01)
        assert load == pytest.approx(step_seconds(instance, run_id, dbt=False), abs=0.01)
        assert started < ended
    assert runs[first.run_id][4] > 0 and runs[second][4] == 0  # dbt did not run on day 2

    ops = {(r[0], r[1]): r[2:] for r in query(url, (
        "SELECT source, date, landed_at, loaded_at, load_lag_seconds, rows_read, rows_rejected, "
        "rejected_per_million, load_attempts, failed_loads, failed_runs, build_seconds "
        "FROM analytics.ops_pipeline_daily"))}
    ledger = {(r[0], r[1]): r[2:] for r in query(url, (
        "SELECT source, partition_date, max(loaded_at), max(load_seconds) FROM raw.load_ledger "
        "WHERE status != 'failed' GROUP BY source, partition_date"))}
    sources = list(load_sources())
    assert set(ops) == {(s, d) for s in sources for d in (DAY1, DAY2)}
    for (source, day), row in ops.items():
        landed, loaded, lag, read, rejected, per_million, attempts, failed_loads, \
            failed_runs, build = row
        broken_day = (source, day) == ("tenants", DAY2)
        assert (attempts, failed_loads) == ((1, 1) if broken_day else (1, 0)), (source, day)
        assert failed_runs == (1 if day == DAY2 else 0)
        assert build == (pytest.approx(runs[first.run_id][4]) if day == DAY1 else None)
        if broken_day:  # no load of it succeeded
            assert (landed, loaded, lag, read) == (None, None, None, None)
            continue
        started, seconds = ledger[(source, day)]
        landed_file = marker_time(landing_dir, source, day)
        assert abs((landed - landed_file).total_seconds()) < 0.01
        assert abs((loaded - started).total_seconds() - seconds) < 0.01
        # The ledger's load: within the run that made it, no longer than its load steps.
        run_started, run_ended = runs[first.run_id if day == DAY1 else second][6:]
        assert run_started <= started <= run_ended
        assert 0 < seconds <= step_seconds(instance, first.run_id if day == DAY1 else second,
                                           dbt=False)
        assert lag == pytest.approx((started - landed_file).total_seconds() + seconds, abs=0.02)
        assert (lag > LATE_HOURS * 3600) == ((source, day) == ("users", DAY1)), (source, lag)
        assert read == expected_counts(landing_dir, source, [day])[0]
        bad_rows = 1 if (source, day) == ("users", DAY1) else 0
        assert rejected == bad_rows
        assert per_million == pytest.approx(bad_rows * 1_000_000 / read)

    # The sensors write the same records for runs Dagster launches; a record missed (the
    # warehouse was busy when the failed run's sensor ran: the sensor moves on) is written by
    # the next run's.
    with open_warehouse(url) as client:
        client.command("TRUNCATE TABLE raw.pipeline_runs")
    for run_ids in ([first.run_id], [second, first.run_id]):  # then each run's, again
        evaluate_run_sensors(instance, url, run_ids)
        assert {row[0]: row[1:] for row in query(
            url, f"SELECT {RUN_COLUMNS} FROM raw.pipeline_runs FINAL")} == runs
