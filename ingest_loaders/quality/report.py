"""What a quality check is and what it reports, independent of Dagster."""

from __future__ import annotations

from dataclasses import dataclass, field

from saas_warehouse.sources import Severity


@dataclass(frozen=True)
class CheckSpec:
    name: str
    description: str
    severity: Severity  # of a failure; ERROR checks block the downstream models

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(frozen=True)
class Thresholds:
    """Where a check draws the line; the defaults are what the warehouse runs with."""

    max_duplicate_share: float = 0.02  # at-least-once exports repeat a few ids, not more
    min_rows_vs_previous: float = 0.25  # fewer rows than this share of the previous day: collapse
    min_previous_rows: int = 100  # below that, day-over-day comparison is noise
    sample_rows: int = 20_000  # rows handed to Great Expectations per (source, day)


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("rows_accounted_for", "Rows in the files = rows in raw + rows in raw.rejects, "
              "per day (exact, SQL).", Severity.ERROR),
    CheckSpec("keys_not_null", "No row in raw has an empty id or tenant_id (exact, SQL).",
              Severity.ERROR),
    CheckSpec("row_count_stable", "The day has at least 25% of the rows of the previous loaded "
              "day (exact, SQL); a collapse usually means a partial export.", Severity.ERROR),
    CheckSpec("valid_values", "Great Expectations, on a sample of up to 20k rows: no impossible "
              "values (HTTP status outside 100-599, negative latency, bytes or money, "
              "currency other than USD, unknown plan, an email instead of its hash).",
              Severity.ERROR),
    CheckSpec("ids_unique", "Repeated deliveries vs rows within the day (SQL, exact: the "
              "rows the loader marked repeats): at-least-once duplicates are expected and "
              "dropped in staging; more than 2% is suspicious.",
              Severity.WARN),
    CheckSpec("schema_unchanged", "The files have the declared columns and types "
              "(sources/<name>.yml): no column added, discarded, missing, widened or rejected "
              "first seen on these days (raw.schema_changes).", Severity.WARN),
    CheckSpec("plausible_values", "Great Expectations, on a sample of up to 20k rows: known "
              "event names (unknown ones are kept), HTTP methods, user roles, plausible latency, "
              "amounts and dates.",
              Severity.WARN),
)
SPECS = {c.name: c for c in CHECKS}


@dataclass
class CheckOutcome:
    """One check over the days of a run: passed only if every day passed."""

    name: str
    failed_days: list[str]  # 'YYYY-MM-DD', in day order
    metadata: dict[str, object] = field(default_factory=dict)  # int, float, str, or `days`
    days: list[list[object]] = field(default_factory=list)  # one row per day
    days_header: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failed_days

    @property
    def severity(self) -> Severity:
        return SPECS[self.name].severity


@dataclass
class QualityReport:
    outcomes: list[CheckOutcome]
    sql_seconds: float
    ge_seconds: float
    sample_rows: int

    @property
    def seconds(self) -> float:
        return self.sql_seconds + self.ge_seconds

    def outcome(self, name: str) -> CheckOutcome:
        return next(o for o in self.outcomes if o.name == name)

    def blocking_failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed and SPECS[o.name].blocking]
