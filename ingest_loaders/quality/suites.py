"""The Great Expectations suites, one per raw source, derived from the value rules of its
declaration (`sources/<name>.yml`, `rules:` under a column).

Each expectation carries `meta.severity`: ERROR for values that cannot be right (they block
the models of the day), WARN for values that are possible but suspicious. Keys, uniqueness
and row counts are not here: they are exact SQL checks (exact.py), cheaper than a sample.
Great Expectations is imported only when a suite is built (its import takes seconds).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ingest_loaders.read_sql import base_type
from saas_warehouse.settings import REPO_ROOT
from saas_warehouse.sources import Column, Rule, Severity, Source

SEEDS = REPO_ROOT / "seeds"


@dataclass(frozen=True)
class Expectation:
    severity: Severity
    kind: str  # a great_expectations.expectations class
    column: str  # the sampled column (an expression's alias, see sample_expression)
    arguments: dict[str, Any]


@cache
def seed_values(reference: str) -> tuple[str, ...]:
    """`plans.plan` → the `plan` column of seeds/plans.csv, the same list dbt loads."""
    seed, column = reference.split(".", 1)
    with (SEEDS / f"{seed}.csv").open(newline="") as f:
        return tuple(row[column] for row in csv.DictReader(f))


# Each rule but min/max (which share one expectation): its expectation and arguments.
_RULE_EXPECTATIONS: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "in": ("ExpectColumnValuesToBeInSet", lambda v: {"value_set": list(v)}),
    "in_seed": ("ExpectColumnValuesToBeInSet", lambda v: {"value_set": list(seed_values(v))}),
    "regex": ("ExpectColumnValuesToMatchRegex", lambda v: {"regex": v}),
    "min_year": ("ExpectColumnValuesToBeBetween", lambda v: {"min_value": v}),
}


def _sampled_name(column: Column, rule: Rule) -> str:
    return f"{column.name}_year" if rule.kind == "min_year" else column.name


def sample_expression(column: Column, name: str) -> str:
    """How a sampled column is read: Decimal money as Float64 (Great Expectations compares
    floats), a timestamp's year for `min_year`."""
    if name != column.name:
        return f"toYear(`{column.name}`)"
    if base_type(column.ch_type).startswith("Decimal"):
        return f"toFloat64(`{column.name}`)"
    return f"`{column.name}`"


def expectations(source: Source) -> list[Expectation]:
    out = []
    for column in source.columns:
        bounds = [r for r in column.rules if r.kind in ("min", "max")]
        for severity in Severity:  # a min and a max of one severity: one expectation
            same = {r.kind: r.value for r in bounds if r.severity == severity}
            if same:
                out.append(Expectation(severity, "ExpectColumnValuesToBeBetween",
                                       column.name,
                                       {f"{k}_value": v for k, v in sorted(same.items())}))
        for rule in column.rules:
            if rule.kind in _RULE_EXPECTATIONS:
                kind, arguments = _RULE_EXPECTATIONS[rule.kind]
                out.append(Expectation(rule.severity, kind, _sampled_name(column, rule),
                                       arguments(rule.value)))
    return out


def sampled_columns(source: Source) -> dict[str, str]:
    """The columns a suite reads, alias → SQL expression."""
    out = {}
    for column in source.columns:
        for rule in column.rules:
            name = _sampled_name(column, rule)
            out[name] = sample_expression(column, name)
    return out


def severities(source: Source) -> set[Severity]:
    return {e.severity for e in expectations(source)}


def build_suite(source: Source, name: str) -> Any:
    """A `great_expectations.ExpectationSuite` named `name` for one raw source."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name)
    for e in expectations(source):
        suite.add_expectation(getattr(gx.expectations, e.kind)(
            column=e.column, meta={"severity": str(e.severity)}, **e.arguments
        ))
    return suite
