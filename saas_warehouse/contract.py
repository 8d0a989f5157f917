"""The contract's fixed vocabularies (docs/contract.md §3-§4), in one place.

Plans come from the dbt seed `seeds/plans.csv`, which dbt tests `relationships` against;
roles are the users export's `role` values, declared in `sources/users.yml`, which dbt tests
as `accepted_values` (tests/test_contract_vocabularies.py checks both stay equal to these).
Both are read on first use, never at import.
"""

from __future__ import annotations

import csv
from functools import cache

from saas_warehouse.settings import REPO_ROOT
from saas_warehouse.sources import load_sources

SEEDS = REPO_ROOT / "seeds"
# The warehouse's databases, bottom to top (docs/contract.md §4).
DATABASES: tuple[str, ...] = ("raw", "staging", "analytics", "bi")


@cache
def plans() -> tuple[str, ...]:
    """free → enterprise, in `plan_rank` order."""
    with (SEEDS / "plans.csv").open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["plan_rank"]))
    return tuple(row["plan"] for row in rows)


@cache
def roles() -> tuple[str, ...]:
    """owner → viewer: the `in` rule of the users declaration's `role` column."""
    role = load_sources()["users"].column("role")
    return tuple(next(rule.value for rule in role.rules if rule.kind == "in"))
