"""The contract's fixed vocabularies (CONTRACT.md §3-§4), in one place.

Plans come from the dbt seed `seeds/plans.csv`, which dbt tests `relationships` against;
roles are the users export's `role` values, which `_raw__models.yml` tests as
`accepted_values` (tests/test_contract_vocabularies.py checks both stay equal to these).
"""

from __future__ import annotations

import csv

from saas_warehouse.settings import REPO_ROOT

SEEDS = REPO_ROOT / "seeds"


def _plans() -> tuple[str, ...]:
    with (SEEDS / "plans.csv").open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["plan_rank"]))
    return tuple(row["plan"] for row in rows)


PLANS: tuple[str, ...] = _plans()  # free → enterprise
ROLES: tuple[str, ...] = ("owner", "admin", "member", "viewer")
# The warehouse's databases, bottom to top (CONTRACT.md §4).
DATABASES: tuple[str, ...] = ("raw", "staging", "analytics", "bi")
