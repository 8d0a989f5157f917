"""What `saas-warehouse run` shows by default: one progress bar per step, not the log.

A Dagster logger that reads the run's structured events: a loader step advances by one for each
(source, day) it finished (the record it logs with `day_record`, raw/metadata.py), the dbt step
by one for each model, seed or test Dagster records. On a terminal the bar redraws in place;
elsewhere (CI, a file) each step prints one line when it ends. Warnings and errors are printed
as they come. `--verbose` uses Dagster's console logger instead and streams everything.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg

from orchestration.raw.metadata import LOADED_DAY

# dagster's log records carry the run's event under this attribute (its JSON logger reads it).
RECORD_METADATA = "dagster_meta"
BAR_WIDTH = 24
# What a step counts: a loader its days (LOADED_DAY records), dbt its nodes (events).
DAYS, NODES = "days", "nodes"


@dataclass
class StepProgress:
    label: str
    unit: str
    total: int
    done: int = 0
    started: float = field(default_factory=time.perf_counter)
    nodes_seen: set[str] = field(default_factory=set)  # a range materializes a node per day

    def line(self) -> str:
        filled = BAR_WIDTH * min(self.done, self.total) // max(self.total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return (f"{self.label:<28} [{bar}] {self.done}/{self.total} {self.unit} "
                f"{time.perf_counter() - self.started:6.1f}s")


class RunProgress(logging.Handler):
    """Progress per step; `steps` maps a step key to (label, unit, total)."""

    def __init__(self, steps: dict[str, tuple[str, str, int]], stream: TextIO | None = None):
        super().__init__(logging.DEBUG)  # step events are DEBUG records
        self.steps = steps
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.current: dict[str, StepProgress] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, RECORD_METADATA, None) or {}
        step, event = meta.get("step_key"), meta.get("dagster_event")
        if record.levelno >= logging.WARNING:
            self._print(f"{record.levelname.lower()}: {meta.get('orig_message', record.msg)}")
        if step not in self.steps:
            return
        kind = event.event_type_value if event is not None else None
        if kind == "STEP_START":
            self.current[step] = StepProgress(*self.steps[step])
        progress = self.current.get(step)
        if progress is None:
            return
        if event is not None and kind in ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION") \
                and progress.unit == NODES:
            progress.nodes_seen.add(_node(event))
            progress.done = len(progress.nodes_seen)
        elif progress.unit == DAYS and getattr(record, LOADED_DAY, None):
            progress.done += 1
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            outcome = "" if kind == "STEP_SUCCESS" else "  FAILED"
            self._print(progress.line() + outcome)
            del self.current[step]
            return
        else:
            return
        if self.live:
            self.stream.write("\r" + progress.line())
            self.stream.flush()

    def _print(self, text: str) -> None:
        self.stream.write(("\r" if self.live else "") + text + "\n")
        self.stream.flush()


def _node(event: dg.DagsterEvent) -> str:
    """The dbt node an event is about: its asset, or its asset check."""
    data = event.event_specific_data
    if event.event_type_value == "ASSET_CHECK_EVALUATION":
        return f"{data.asset_key.to_user_string()}:{data.check_name}"  # type: ignore[union-attr]
    return event.asset_key.to_user_string()  # type: ignore[union-attr]


def progress_logger(handler: RunProgress) -> dg.LoggerDefinition:
    """A logger definition that sends the run's records to `handler`."""

    def build(_init_context: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.Logger("saas_warehouse.progress", logging.DEBUG)
        logger.addHandler(handler)
        return logger

    return dg.LoggerDefinition(build, description="progress bars for saas-warehouse run")
