"""`saas-warehouse run`: materialize every asset for a range of days, in one Dagster run,
through the same job the daily schedule launches."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import dagster as dg

from orchestration.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from orchestration.progress import DAYS, NODES, RunProgress, progress_logger
from orchestration.transform.assets import DBT_STEP
from saas_warehouse.settings import REPO_ROOT, Settings
from saas_warehouse.warehouse import clickhouse_message

log = logging.getLogger(__name__)

KEPT_RUN_LOGS = 20  # a quiet run's dbt logs under DAGSTER_HOME/logs: the newest are kept
# An instance that keeps its runs' events in memory, for runs whose history nobody reads
# afterwards (`saas-warehouse ci`'s base build, tests): storing a run's ~700 events in
# DAGSTER_HOME's sqlite files costs ~7 s of CPU.
THROWAWAY_INSTANCE = """\
event_log_storage:
  module: dagster._core.storage.event_log
  class: InMemoryEventLogStorage
telemetry:
  enabled: false
"""


class RunFailed(RuntimeError):
    """The Dagster run failed; the message is the first step failure."""


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    seconds: float
    materializations: int
    checks_passed: int
    checks_warned: int  # a warn-severity check that did not pass
    checks_failed: int  # a blocking (error-severity) check that did not pass
    # "asset:check" of each check that did not pass, warned first
    checks_not_passed: list[str] = field(default_factory=list)
    log_file: Path | None = None  # dbt's log as it ran, when not streamed (a quiet run)


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance under DAGSTER_HOME, seeded with the repo's dagster.yaml on first use."""
    home = Path(settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def throwaway_dagster_home(home: Path) -> Path:
    """`home` as a DAGSTER_HOME whose runs' events are not kept (THROWAWAY_INSTANCE)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(THROWAWAY_INSTANCE)
    return home


def run_range(
    settings: Settings,
    start: dt.date,
    end: dt.date,
    *,
    instance: dg.DagsterInstance | None = None,
    selection: dg.AssetSelection | None = None,
    progress: TextIO | None = None,
) -> RunSummary:
    """Materialize [start, end] in one run (the assets' single-run backfill policy).

    Logs go to Dagster's console logger, or, given a `progress` stream, only a progress bar
    per step (and warnings) go there, and dbt's log (which dagster-dbt prints on stdout) goes
    to a file under DAGSTER_HOME/logs (the summary's `log_file`).
    """
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    from orchestration.definitions import build_definitions

    handler = RunProgress({}, progress) if progress is not None else None
    loggers = {"progress": progress_logger(handler)} if handler else None
    defs = build_definitions(settings, loggers=loggers)
    if handler:
        handler.steps = step_totals(defs, days=(end - start).days + 1)
    job = defs.resolve_job_def("daily_warehouse")
    if selection is not None:
        job = job.get_subset(asset_selection=set(selection.resolve(defs.resolve_asset_graph())))
    instance = instance or dagster_instance(settings)  # the run's, and its record's
    started = dt.datetime.now()
    log_file = (Path(settings.dagster_home) / "logs" / f"run-{started:%Y%m%dT%H%M%S}.log"
                if handler else None)
    with _stdout_to(log_file):
        result = job.execute_in_process(
            instance=instance,
            tags={
                PARTITION_RANGE_START_TAG: start.isoformat(),
                PARTITION_RANGE_END_TAG: end.isoformat(),
            },
            run_config={"loggers": {"progress": {}} if loggers
                        else {"console": {"config": {"log_level": "INFO"}}}},
            raise_on_error=False,
        )
    seconds = (dt.datetime.now() - started).total_seconds()
    _record(settings, result.run_id, instance)
    if not result.success:
        where = f" (dbt's log: {log_file})" if log_file else ""
        raise RunFailed(_first_failure(result) + where)
    checks = [
        e.asset_check_evaluation_data for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    not_passed = sorted((c for c in checks if not c.passed),
                        key=lambda c: c.severity != dg.AssetCheckSeverity.WARN)
    return RunSummary(
        run_id=result.run_id,
        seconds=seconds,
        materializations=len(result.get_asset_materialization_events()),
        checks_passed=sum(c.passed for c in checks),
        checks_warned=sum(not c.passed and c.severity == dg.AssetCheckSeverity.WARN
                          for c in checks),
        checks_failed=sum(not c.passed and c.severity == dg.AssetCheckSeverity.ERROR
                          for c in checks),
        checks_not_passed=[f"{c.asset_key.to_user_string()}:{c.check_name}" for c in not_passed],
        log_file=log_file,
    )


@contextlib.contextmanager
def _stdout_to(log_file: Path | None) -> Iterator[None]:
    """This process's stdout into `log_file` meanwhile (None: left as it is)."""
    if log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    for old in sorted(log_file.parent.glob("run-*.log"))[:-KEPT_RUN_LOGS]:  # names sort by time
        old.unlink(missing_ok=True)
    with log_file.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        yield


def step_totals(defs: dg.Definitions, days: int) -> dict[str, tuple[str, str, int]]:
    """Per step key: its label, what it counts and how many: days for a loader, dbt nodes
    (models, seeds and tests) for dbt."""
    totals: dict[str, tuple[str, str, int]] = {}
    for assets in defs.assets or ():
        if not isinstance(assets, dg.AssetsDefinition) or not assets.is_executable:
            continue
        if assets.node_def.name == DBT_STEP:
            totals[DBT_STEP] = ("dbt build", NODES, len(assets.keys) + len(assets.check_keys))
        else:
            totals[assets.node_def.name] = ("load " + assets.key.path[-1], DAYS, days)
    return totals


def _record(settings: Settings, run_id: str, instance: dg.DagsterInstance) -> None:
    """The run's record in raw.pipeline_runs (run_records.py). Best effort: a warehouse that
    cannot take it now does not change the run's outcome; the message says so."""
    from orchestration.resources import WarehouseResource
    from orchestration.run_records import record_runs

    try:
        warehouse = WarehouseResource(url=settings.warehouse_url,
                                      cluster=settings.warehouse_cluster)
        with warehouse.open() as client:
            record_runs(client, instance, run_id, warehouse.topology)
    except Exception as e:  # noqa: BLE001 (whatever it is, the run's own result stands)
        log.warning("run %s was not recorded in raw.pipeline_runs: %s", run_id,
                    clickhouse_message(e, 300))


def _first_failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            return f"step {event.step_key} failed: {failure_message(event)}"
    return f"run {result.run_id} failed"


def failure_message(event: dg.DagsterEvent) -> str:
    """The first line of the error that made a step fail, past Dagster's retry wrapper."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    while error is not None:
        if error.message.strip() and not error.message.startswith("Exceeded max_retries"):
            lines = [line.strip() for line in error.message.strip().splitlines() if line.strip()]
            if lines[0].endswith(":") and len(lines) > 1:  # e.g. the blocking checks that failed
                return f"{lines[0]} {', '.join(lines[1:])}"
            return lines[0]
        error = error.cause or error.context
    return "unknown error"
