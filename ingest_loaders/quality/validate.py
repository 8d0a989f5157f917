"""Run every check on the loaded days of one source."""

from __future__ import annotations

import datetime as dt
import logging
import time
from functools import cache
from typing import Any

from clickhouse_connect.driver.client import Client

from ingest_loaders.quality import exact
from ingest_loaders.quality.report import CheckOutcome, QualityReport, Thresholds
from ingest_loaders.quality.suites import build_suite, sampled_columns, severities
from ingest_loaders.sources import SOURCES, Source

EXAMPLES = 5  # unexpected values shown per failed expectation
DEFAULT_LIMITS = Thresholds()


def validate_days(
    client: Client, source_name: str, days: list[dt.date], limits: Thresholds = DEFAULT_LIMITS
) -> QualityReport:
    """All checks of CHECKS over `days` (each already loaded into raw)."""
    source = SOURCES[source_name]
    started = time.perf_counter()
    outcomes = [
        exact.rows_accounted_for(client, source, days),
        *exact.keys_and_ids(client, source, days, limits),
        exact.row_count_stable(client, source, days, limits),
        exact.schema_unchanged(client, source, days),
    ]
    sql_seconds = time.perf_counter() - started
    started = time.perf_counter()
    samples = {day: sample(client, source, day, limits.sample_rows) for day in days}
    outcomes += _expectations(source, samples)
    ge_seconds = time.perf_counter() - started
    sampled = sum(len(frame) for frame in samples.values())
    return QualityReport(outcomes, sql_seconds, ge_seconds, sampled)


def sample(client: Client, source: Source, day: dt.date, limit: int) -> Any:
    """Up to `limit` rows of the day as a pandas frame: a deterministic pseudo-random sample
    (ordered by a hash of each row's origin), so a re-run validates the same rows."""
    columns = ", ".join(f"{sql} AS `{name}`" for name, sql in sampled_columns(source).items())
    return client.query_df(
        f"SELECT {columns} FROM {source.table} WHERE _partition_date = {{day:Date}} "
        "ORDER BY cityHash64(_source_file, _source_row) LIMIT {limit:UInt32}",
        parameters={"day": day, "limit": limit},
    )


@cache
def _context() -> Any:
    """An ephemeral Great Expectations context (nothing written to disk), one per process."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas("raw")
    return context


@cache
def _batch_and_suite(source: Source) -> tuple[Any, Any]:
    context = _context()
    asset = context.data_sources.get("raw").add_dataframe_asset(source.name)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"{source.name}_day")
    return batch_definition, context.suites.add(build_suite(source))


def run_suite(source: Source, frame: Any) -> list[dict[str, Any]]:
    """One Great Expectations validation of a frame; one plain dict per expectation."""
    batch_definition, suite = _batch_and_suite(source)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format="SUMMARY")
    rows = []
    for r in result.results:
        config = r.expectation_config
        kwargs = {k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id")}
        rows.append({
            "severity": config.meta.get("severity", "ERROR"),
            "expectation": config.type,
            "column": config.kwargs.get("column"),
            "arguments": kwargs,
            "success": bool(r.success),
            "unexpected_share": (r.result.get("unexpected_percent") or 0.0) / 100,
            "examples": list(dict.fromkeys(
                str(v) for v in r.result.get("partial_unexpected_list") or []
            ))[:EXAMPLES],
        })
    return rows


def _expectations(source: Source, samples: dict[dt.date, Any]) -> list[CheckOutcome]:
    header = ("day", "expectation", "column", "success", "unexpected share (sample)", "examples")
    by_severity: dict[str, CheckOutcome] = {
        "ERROR": CheckOutcome("valid_values", [], days_header=header),
        "WARN": CheckOutcome("plausible_values", [], days_header=header),
    }
    for day, frame in samples.items():
        if frame.empty:  # an empty day has no values to judge (row_count_stable watches it)
            continue
        for row in run_suite(source, frame):
            outcome = by_severity[row["severity"]]
            if not row["success"] and day.isoformat() not in outcome.failed_days:
                outcome.failed_days.append(day.isoformat())
            short = row["expectation"].removeprefix("expect_column_values_to_")
            outcome.days.append([day.isoformat(), f"{short} {row['arguments']}", row["column"],
                                 row["success"], round(row["unexpected_share"], 5),
                                 ", ".join(row["examples"])])
            if row["expectation"] == "expect_column_values_to_be_in_set":
                key = f"unknown_{row['column']}_share"
                outcome.metadata[key] = max(
                    float(str(outcome.metadata.get(key, 0.0))), round(row["unexpected_share"], 5)
                )
    for outcome in by_severity.values():
        outcome.metadata["sample_rows"] = sum(len(f) for f in samples.values())
        outcome.metadata["failed_expectations"] = sum(not r[3] for r in outcome.days)
    return [o for severity, o in by_severity.items() if severity in severities(source)]
