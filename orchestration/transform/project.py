"""The dbt project, and the manifest Dagster builds its assets from.

dagster-dbt prepares the manifest (`dbt parse`): under `dagster dev` on every load
(`DbtProject.prepare_if_dev`), for a deployment once at build time
(`dagster-dbt project prepare-and-package --file orchestration/transform/deploy.py`), and here
also whenever it is missing or older than a file it is parsed from, so that a CLI run or a
test after an edit never builds assets from a stale manifest.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import msgpack
from dagster_dbt import DbtProject

from saas_warehouse.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def dbt_executable() -> str:
    """The dbt installed beside this Python, whether or not its venv is on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's saved parse
# dagster-dbt's mark on a saved seed: a checksum no file has (DbtProjectPreparer).
CHANGED_SEED = {"name": "sha256", "checksum": "0" * 64}


def seed_partial_parse(target: Path, *saved_in: Path, project: Path = DBT_PROJECT_DIR) -> None:
    """Start a fresh dbt target directory of `project` from a saved parse — the first of the
    directories `saved_in` (default: the project's target/) that holds one (what a CI cache of
    target/ gives): dbt checks it still holds and parses only the files that differ, instead of
    the whole project (~5 s). Nothing when `target` has one or none is saved."""
    if (target / PARTIAL_PARSE).exists():
        return
    for directory in saved_in or (DBT_PROJECT_DIR / "target",):
        if (directory / PARTIAL_PARSE).exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(directory / PARTIAL_PARSE, target / PARTIAL_PARSE)
            align_saved_seeds(target / PARTIAL_PARSE, project)
            return


def align_saved_seeds(saved: Path, project: Path) -> None:
    """Make a saved parse's seeds count as changed exactly when they are.

    A seed's parse holds the absolute directory it was parsed in (dbt loads the CSV from
    there), so dagster-dbt's preparer marks every seed changed: each dbt invocation then
    re-parses the seeds and every model that refs one (~1 s of CPU, 2-4 s on a busy machine).
    Here a seed parsed in `project` itself gets its file's real checksum back (computed as
    dbt computes it), and one parsed elsewhere — a copy of the project, a CI base tree — gets
    the mark, so that dbt re-parses it where it now is."""
    from dbt.contracts.files import FileHash
    from dbt_common.clients.system import load_file_contents

    parse = msgpack.unpackb(saved.read_bytes(), strict_map_key=False)
    seeds = [e for e in parse.get("files", {}).values() if e.get("parse_file_type") == "seed"]
    before = [dict(e["checksum"]) for e in seeds]
    for entry in seeds:
        where = entry["path"]
        root = Path(where["project_root"])
        csv = root / where["searched_path"] / where["relative_path"]
        if root.is_absolute() and root.resolve() == project.resolve() and csv.is_file():
            entry["checksum"] = FileHash.from_contents(load_file_contents(str(csv))).to_dict()
        else:
            entry["checksum"] = CHANGED_SEED
    if before == [e["checksum"] for e in seeds]:
        return  # as it should be: not written again
    partial = saved.with_name(f".{saved.name}.{os.getpid()}.tmp")
    partial.write_bytes(msgpack.packb(parse))
    os.replace(partial, saved)  # a dbt starting meanwhile reads the old parse or the new


def new_dbt_project() -> DbtProject:
    """The project as dagster-dbt sees it, nothing prepared (reads dbt_project.yml)."""
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


@cache
def dbt_project() -> DbtProject:
    """The dbt project, its manifest prepared under `dagster dev` or when stale."""
    project = new_dbt_project()
    with _this_venv_on_path():
        if project.preparer.using_dagster_dev():
            project.prepare_if_dev()
        elif manifest_is_stale(project.manifest_path):
            # dagster-dbt's own preparation: `dbt parse` under a lock file, skipped when
            # another process (a test worker, a code server) refreshed it meanwhile.
            project.preparer.prepare(project)
    saved = project.project_dir / project.target_path / PARTIAL_PARSE
    if saved.exists():
        align_saved_seeds(saved, project.project_dir)
    return project


def manifest_is_stale(manifest: Path) -> bool:
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


@contextmanager
def _this_venv_on_path() -> Iterator[None]:
    """dagster-dbt's preparer runs the `dbt` it finds on PATH (it takes no executable):
    while it parses, that is this environment's, as `make dev` and an activated venv have it."""
    saved = os.environ.get("PATH")
    if Path(dbt_executable()).is_absolute():
        os.environ["PATH"] = os.pathsep.join([str(Path(dbt_executable()).parent), saved or ""])
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved
