"""Data quality results (ingest_loaders.quality) as Dagster asset checks.

ERROR checks are blocking: when one fails, the step fails after recording the
materialization and the check, and the dbt models downstream are not run for those days.
"""

from __future__ import annotations

import dagster as dg

from ingest_loaders.quality import CheckOutcome, QualityReport, checks_for
from orchestration.raw.metadata import markdown_table


def check_specs(source: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
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
    metadata["validation_seconds"] = dg.MetadataValue.float(round(report.seconds, 3))
    return dg.AssetCheckResult(
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        metadata=metadata,
    )


def check_results(report: QualityReport) -> list[dg.AssetCheckResult]:
    return [check_result(o, report) for o in report.outcomes]
