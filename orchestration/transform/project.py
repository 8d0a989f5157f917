"""The dbt project, and the manifest Dagster builds its assets from."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from saas_warehouse.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def dbt_executable() -> str:
    """The dbt installed beside this Python, whether or not its venv is on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


@cache
def dbt_project() -> DbtProject:
    """The dbt project, its manifest parsed if missing (or always under `dagster dev`)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    # Not project.prepare_if_dev(): it runs the `dbt` on PATH, which may not be this venv's.
    with _one_parse_at_a_time():
        if using_dagster_dev() or _manifest_is_stale(project.manifest_path):
            prepare_manifest()
    return project


@contextmanager
def _one_parse_at_a_time() -> Iterator[None]:
    """Processes that start together (test workers, `dagster dev`'s code servers, a CLI
    run) parse in turn: the next one finds the manifest fresh instead of writing
    dbt_project/target at the same time."""
    target = DBT_PROJECT_DIR / "target"
    target.mkdir(exist_ok=True)
    with (target / ".parse.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _manifest_is_stale(manifest: Path) -> bool:
    """Missing, or older than a file it is parsed from: Dagster's assets and checks must
    match what the dbt process it starts will build."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in (DBT_PROJECT_DIR / "models", DBT_PROJECT_DIR / "tests",
                   REPO_ROOT / "macros", REPO_ROOT / "seeds"):
        sources.extend(p for p in folder.rglob("*") if p.is_file())
    return any(p.stat().st_mtime > built for p in sources if p.exists())


def prepare_manifest() -> None:
    """`dbt parse` → dbt_project/target/manifest.json. Opens no warehouse connection."""
    # Where DbtProject looks for it, even when DBT_TARGET_PATH points the runs elsewhere.
    env = {**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
           "DBT_TARGET_PATH": str(DBT_PROJECT_DIR / "target")}
    result = subprocess.run(
        [dbt_executable(), "parse", "--quiet"],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed: {(result.stdout + result.stderr).strip()[-2000:]}")
