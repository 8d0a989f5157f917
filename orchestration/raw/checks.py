"""Data quality results (ingest_loaders.quality) as Dagster asset checks.

ERROR checks are blocking: when one fails, the step fails after recording the
materializations and the checks, naming the days, and the dbt models are not built for the
run's range (range_stop_reason says why the whole range).
"""

from __future__ import annotations

import dagster as dg

from ingest_loaders.quality import CheckOutcome, QualityReport, checks_for
from orchestration.raw.metadata import markdown_table
from saas_warehouse.sources import Source


def check_specs(source: Source, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(spec.name, asset=key, description=spec.description,
                          blocking=spec.blocking)
        for spec in checks_for(source)
    ]


def _value(value: object) -> dg.MetadataValue:
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    return dg.MetadataValue.text(str(value))


def check_result(outcome: CheckOutcome, report: QualityReport) -> dg.AssetCheckResult:
    metadata = {key: _value(value) for key, value in outcome.metadata.items()}
    metadata["days"] = dg.MetadataValue.md(markdown_table(outcome.days_header, outcome.days))
    metadata["failed_days"] = dg.MetadataValue.text(", ".join(outcome.failed_days) or "none")
    metadata["validation_seconds"] = dg.MetadataValue.float(round(report.seconds, 3))
    return dg.AssetCheckResult(
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        metadata=metadata,
    )


def check_results(report: QualityReport) -> list[dg.AssetCheckResult]:
    return [check_result(o, report) for o in report.outcomes]


def range_stop_reason(
    source: str, report: QualityReport, incomplete: list[str], days: list[str]
) -> str | None:
    """Why the run must not build the models for its days, naming the days; None if it may.

    Not only the days named stop: every later day's models read them (WAU and MAU look back
    30 days, retention up to 30), and a build of an earlier day also rebuilds the 29 days
    after it (so that a late day corrects them), which read them too. The dbt step covers
    the run's whole range, so it does not run at all.
    """
    reasons = [
        f"raw/{source}: blocking check {o.name} failed on {', '.join(o.failed_days)}"
        for o in report.blocking_failures()
    ]
    if incomplete:
        reasons.append(
            f"{source}: no _SUCCESS marker for {', '.join(incomplete)}: not loaded, left "
            "unmaterialized (the other days are materialized)"
        )
    if not reasons:
        return None
    window = days[0] if len(days) == 1 else f"{days[0]}…{days[-1]}"
    return (
        f"{'; '.join(reasons)}. The models were not built for {window}: every later day "
        "reads these days (WAU/MAU over 30 days, retention), and building an earlier day "
        "rebuilds the 29 days after it. Fix or re-export those days (or wait for the export "
        "to complete), then run the range again: unchanged days are not reloaded."
    )
