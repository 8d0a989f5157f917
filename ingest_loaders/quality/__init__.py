"""Data quality of each loaded (source, day): exact checks in ClickHouse SQL and a Great
Expectations suite on a bounded sample. Results are plain data; `orchestration/raw/checks.py`
turns them into Dagster asset checks.

| check | computed | on failure |
|---|---|---|
| rows_accounted_for | SQL, exact: ledger rows read = raw rows + rejected rows | ERROR, blocks dbt |
| keys_not_null | SQL, exact: no raw row with an empty id or tenant_id | ERROR, blocks dbt |
| row_count_stable | SQL, exact: rows ≥ 25% of the previous loaded day's | ERROR, blocks dbt |
| valid_values | GE on a sample: impossible values (HTTP status, money, plan, PII) | ERROR, blocks |
| ids_unique | SQL, exact: duplicated ids ≤ 2% of rows (at-least-once deliveries) | WARN |
| schema_unchanged | SQL, exact: no schema change first seen on the day (schema_changes) | WARN |
| plausible_values | GE on a sample: unknown event names, roles, implausible latency… | WARN |

The suites are derived from the value rules of each source's declaration (suites.py); a
source has a suite check per severity its rules use.
"""

from ingest_loaders.quality.report import CHECKS, CheckOutcome, CheckSpec, QualityReport, Thresholds
from ingest_loaders.quality.suites import severities
from ingest_loaders.quality.validate import validate_days, warm_up
from saas_warehouse.sources import Severity, Source

_SUITE_CHECKS = {"valid_values": Severity.ERROR, "plausible_values": Severity.WARN}


def checks_for(source: Source) -> list[CheckSpec]:
    """The checks a source has: the exact ones, and a suite check per severity it uses."""
    used = severities(source)
    return [c for c in CHECKS if c.name not in _SUITE_CHECKS or _SUITE_CHECKS[c.name] in used]


__all__ = [
    "CHECKS", "CheckOutcome", "CheckSpec", "QualityReport", "Thresholds", "checks_for",
    "validate_days", "warm_up",
]
