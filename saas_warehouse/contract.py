"""The contract's fixed vocabularies (CONTRACT.md §3-§4), in one place.

Plans come from the dbt seed `seeds/plans.csv`, which dbt tests `relationships` against;
roles are the users export's `role` values, declared in `sources/users.yml`, which dbt tests
as `accepted_values` (tests/test_contract_vocabularies.py checks both stay equal to these).
"""

from __future__ import annotations

import csv

import yaml

from saas_warehouse.settings import REPO_ROOT

SEEDS = REPO_ROOT / "seeds"


def _plans() -> tuple[str, ...]:
    with (SEEDS / "plans.csv").open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["plan_rank"]))
    return tuple(row["plan"] for row in rows)


def _roles() -> tuple[str, ...]:
    declaration = yaml.safe_load((REPO_ROOT / "sources" / "users.yml").read_text())
    role = next(c for c in declaration["columns"] if c["name"] == "role")
    return tuple(next(rule["in"] for rule in role["rules"] if "in" in rule))


PLANS: tuple[str, ...] = _plans()  # free → enterprise
ROLES: tuple[str, ...] = _roles()  # owner → viewer
# The warehouse's databases, bottom to top (CONTRACT.md §4).
DATABASES: tuple[str, ...] = ("raw", "staging", "analytics", "bi")
