"""The contract's vocabularies have one home (saas_warehouse/contract.py); what dbt and the
generated sample data use must stay equal to it."""

from __future__ import annotations

from pathlib import Path

import yaml
from pyarrow import csv as pacsv

from saas_warehouse.contract import plans, roles
from saas_warehouse.settings import REPO_ROOT

MODELS = REPO_ROOT / "dbt_project" / "models" / "staging" / "product" / "_product__models.yml"


def _accepted_values(model: str, column: str) -> list[str]:
    spec = yaml.safe_load(MODELS.read_text())
    found = next(m for m in spec["models"] if m["name"] == model)
    col = next(c for c in found["columns"] if c["name"] == column)
    test = next(t["accepted_values"] for t in col["data_tests"] if "accepted_values" in t)
    return test["arguments"]["values"]


def test_plans_come_from_the_seed_in_rank_order() -> None:
    seed = pacsv.read_csv(REPO_ROOT / "seeds" / "plans.csv").to_pandas()
    assert plans() == tuple(seed.sort_values("plan_rank")["plan"])
    assert len(set(plans())) == len(plans()) == len(seed)


def test_dbt_tests_the_same_roles() -> None:
    assert tuple(_accepted_values("stg_product__users", "role")) == roles()


def test_generated_exports_use_only_the_contract_values(sample_landing_template: Path) -> None:
    tenants = pacsv.read_csv(next((sample_landing_template / "tenants").rglob("*.csv")))
    users = pacsv.read_csv(next((sample_landing_template / "users").rglob("*.csv")))
    assert set(tenants.column("plan").to_pylist()) <= set(plans())
    assert set(users.column("role").to_pylist()) == set(roles())
