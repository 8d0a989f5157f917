"""`saas-warehouse ci` on a temporary git copy of the project, as a team's pull requests use it:
the base (the copy's HEAD) is built once on sample exports and cached; a changed model builds
itself and what is downstream of it, a broken test fails naming it, an unchanged tree builds
nothing. What ran is read from dbt's run_results.json; what should have run from the manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.dbt_cli import copy_project

pytestmark = pytest.mark.slow  # the base is one `saas-warehouse run` of three sample days

CHANGED_MODEL = "fct_tenant_kpis_daily"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The tracked files in a git repository of their own, committed: the base."""
    root = copy_project(tmp_path / "project")
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm",
                  "base"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


def undo_changes(repo: Path) -> None:
    """Back to the base commit (the cache and target/, ignored, stay)."""
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=repo, check=True)
    subprocess.run(["git", "clean", "-qfd"], cwd=repo, check=True)


def ci(repo: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DBT_", "WAREHOUSE_URL", "DAGSTER_HOME"))}
    done = subprocess.run(
        [sys.executable, "-m", "saas_warehouse_cli", "ci", "--base", "HEAD"], cwd=repo,
        env={**env, "PYTHONPATH": str(repo)}, capture_output=True, text=True, timeout=600)
    results = repo / ".ci-cache" / "run_results.json"
    return done, json.loads(results.read_text())["results"] if results.exists() else []


def downstream(repo: Path, unique_id: str) -> set[str]:
    """`unique_id` and every node below it, from the changed tree's manifest."""
    children = json.loads((repo / ".ci-cache" / "manifest.json").read_text())["child_map"]
    found, todo = set(), [unique_id]
    while todo:
        node = todo.pop()
        if node not in found:
            found.add(node)
            todo += children.get(node, [])
    return found


def test_ci_builds_what_changed_and_fails_naming_a_broken_test(repo: Path) -> None:
    """One base build (the first call), then three pull requests on it."""
    # (c) An unchanged tree builds nothing.
    done, results = ci(repo)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "nothing changed since HEAD: nothing to build" in done.stderr
    assert results == []

    # (a) A changed model builds itself and everything downstream, with their tests.
    model = next((repo / "dbt_project" / "models").rglob(f"{CHANGED_MODEL}.sql"))
    model.write_text(model.read_text() + "\n-- a reviewed change\n")
    done, results = ci(repo)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "built before" in done.stderr  # the base was cached
    ran = {r["unique_id"] for r in results if not r["unique_id"].startswith("operation.")}
    expected = downstream(repo, f"model.saas_warehouse.{CHANGED_MODEL}")
    models = {n for n in expected if n.startswith("model.")}
    assert len(models) > 1  # the change has models below it
    assert {n for n in ran if n.startswith("model.")} == models
    assert ran <= expected | {n for n in ran if n.startswith("unit_test.")}
    assert any(n.startswith("test.") for n in ran)
    assert all(r["status"] in ("success", "pass") for r in results), results
    assert f"model.saas_warehouse.{CHANGED_MODEL}" in done.stderr
    undo_changes(repo)

    # (b) A change that breaks a test fails, naming it, and builds nothing else.
    (repo / "dbt_project" / "tests" / "assert_no_active_tenants.sql").write_text(
        "-- A wrong expectation: no tenant has active users.\n"
        "select tenant_id from {{ ref('kpi_tenant_daily') }} where dau > 0\n")
    done, results = ci(repo)
    assert done.returncode == 1, done.stderr[-3000:]
    failed = [r["unique_id"] for r in results if r["status"] == "fail"]
    assert failed == ["test.saas_warehouse.assert_no_active_tenants"], results
    assert "error: failed: test.saas_warehouse.assert_no_active_tenants" in done.stderr
    assert not any(r["unique_id"].startswith("model.") for r in results)


def test_the_cache_keeps_the_most_recently_used_bases(tmp_path: Path) -> None:
    from saas_warehouse_cli.ci import KEPT_BASES, _prune_bases

    for age in range(KEPT_BASES + 2):
        base = tmp_path / f"base{age}"
        base.mkdir()
        (base / "built").touch()
        os.utime(base / "built", (1e9 - age, 1e9 - age))  # base0 used last
    (tmp_path / "dbt.log").touch()  # an artifact, not a base
    _prune_bases(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        *(f"base{age}" for age in range(KEPT_BASES)), "dbt.log"]
