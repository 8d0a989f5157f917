"""The Great Expectations suites, one per raw source, as code.

Each expectation carries `meta.severity`: ERROR for values that cannot be right (they block
the models of the day), WARN for values that are possible but suspicious. Keys, uniqueness
and row counts are not here: they are exact SQL checks (exact.py), cheaper than a sample.
Great Expectations is imported only when a suite is built (its import takes seconds).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

from saas_warehouse.contract import PLANS, ROLES

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
MAX_PLAUSIBLE_LATENCY_MS = 120_000  # two minutes: gateways time out well before
MAX_PLAUSIBLE_LINE_USD = 100_000  # one billing line item
# Sampled columns that are not read as they are: Decimal money as Float64 (Great Expectations
# compares floats), and a timestamp's year (a missing created_at loads as 1970).
SAMPLE_EXPRESSIONS = {
    "quantity": "toFloat64(quantity)",
    "unit_price_usd": "toFloat64(unit_price_usd)",
    "amount_usd": "toFloat64(amount_usd)",
    "created_year": "toYear(created_at)",
}


@cache
def known_events() -> tuple[str, ...]:
    """The event catalogue seed (seeds/event_catalogue.csv), the same list dbt loads."""
    with (SEEDS / "event_catalogue.csv").open(newline="") as f:
        return tuple(row["event"] for row in csv.DictReader(f))


def _rules() -> dict[str, list[tuple[str, str, str, dict[str, Any]]]]:
    """(severity, expectation class, column, arguments) per source."""
    between, in_set = "ExpectColumnValuesToBeBetween", "ExpectColumnValuesToBeInSet"
    return {
        "product_events": [
            ("WARN", in_set, "event", {"value_set": list(known_events())}),
            ("ERROR", between, "event_version", {"min_value": 0}),
        ],
        "api_requests": [
            ("ERROR", between, "status_code", {"min_value": 100, "max_value": 599}),
            ("ERROR", between, "latency_ms", {"min_value": 0}),
            ("WARN", between, "latency_ms", {"max_value": MAX_PLAUSIBLE_LATENCY_MS}),
            ("ERROR", between, "request_bytes", {"min_value": 0}),
            ("ERROR", between, "response_bytes", {"min_value": 0}),
            ("WARN", in_set, "method", {"value_set": HTTP_METHODS}),
        ],
        "billing_line_items": [
            ("ERROR", between, "quantity", {"min_value": 0}),
            ("ERROR", between, "unit_price_usd", {"min_value": 0}),
            ("ERROR", between, "amount_usd", {"min_value": 0}),
            ("WARN", between, "amount_usd", {"max_value": MAX_PLAUSIBLE_LINE_USD}),
            ("ERROR", in_set, "currency", {"value_set": ["USD"]}),
        ],
        "tenants": [
            ("ERROR", in_set, "plan", {"value_set": list(PLANS)}),
            ("WARN", between, "created_year", {"min_value": 2000}),
        ],
        "users": [
            # No raw PII is ever exported (CONTRACT §3): an email here would be a leak.
            ("ERROR", "ExpectColumnValuesToMatchRegex", "email_sha256",
             {"regex": "^([0-9a-f]{64})?$"}),
            # Checked by dbt too (accepted_values on stg_product__users.role): fails the build.
            ("WARN", in_set, "role", {"value_set": list(ROLES)}),
        ],
    }


def suite_columns(source: str) -> list[str]:
    return list(dict.fromkeys(column for _, _, column, _ in _rules()[source]))


def severities(source: str) -> set[str]:
    return {severity for severity, _, _, _ in _rules()[source]}


def build_suite(source: str) -> Any:
    """A `great_expectations.ExpectationSuite` for one raw source."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"raw.{source}")
    for severity, kind, column, kwargs in _rules()[source]:
        expectation = getattr(gx.expectations, kind)(
            column=column, meta={"severity": severity}, **kwargs
        )
        suite.add_expectation(expectation)
    return suite
