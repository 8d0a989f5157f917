"""The dbt project, the dbt resource, and the manifest Dagster builds its assets from.

The manifest is prepared (`dbt parse`) by `WarehouseDbtPreparer` (dagster-dbt's public
preparer interface; DbtProject takes no preparer of its own, so `dbt_project()` calls it):
under `dagster dev` on every load, and otherwise whenever the manifest is missing or older than
a file it is parsed from, so that a CLI run or a test after an edit never builds assets from a
stale manifest. A deployment may prepare it once at build time instead, with dagster-dbt's own
preparer (`dagster-dbt project prepare-and-package --file orchestration/transform/deploy.py`).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Sequence
from functools import cache, cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import msgpack
from dagster_dbt import DbtCliResource, DbtProject, DbtProjectPreparer
from dbt.adapters.base import BaseAdapter
from packaging import version

from saas_warehouse.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def dbt_executable() -> str:
    """The dbt installed beside this Python, whether or not its venv is on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's saved parse
# dagster-dbt's mark on a saved seed: a checksum no file has (DagsterDbtProjectPreparer).
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
    there), so a parse copied to another directory must mark its seeds changed, as
    dagster-dbt's own preparer does to every seed, always (then each dbt invocation re-parses
    the seeds and every model that refs one: ~1 s of CPU, 2-4 s on a busy machine). Here a
    seed parsed in `project` itself keeps or gets back its file's real checksum (computed as
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


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two costs it pays before every invocation: asking
    the executable its version (`dbt --version`, ~2.5 s here) and building an in-process dbt
    adapter (~2.3 s), which only serves column and row-count metadata these assets never
    fetch. The executable is this environment's own dbt (dbt_executable()), so its version
    is the installed dbt-core's.

    Both are private to dagster-dbt (0.28+; 0.27 named them differently) and no public
    setting turns them off: tests/test_dagster_dbt_hooks.py fails when dagster-dbt renames
    them or calls them differently, instead of the costs silently coming back."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(installed_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> BaseAdapter:
        return None  # type: ignore[return-value]  # dagster-dbt runs without one


def dbt_resource(project: DbtProject) -> WarehouseDbtCli:
    return WarehouseDbtCli(project_dir=str(project.project_dir),
                           profiles_dir=str(project.profiles_dir), dbt_executable=dbt_executable())


class WarehouseDbtPreparer(DbtProjectPreparer):
    """`dbt parse` into the project's target/, as dagster-dbt's default preparer runs it, but
    through `WarehouseDbtCli` (not `dbt --version` and an adapter first: ~5 s), and without
    marking the saved parse's seeds changed (see `align_saved_seeds`). The project has no
    packages to install. Under a lock file: a process that waited while another parsed finds
    the manifest fresh and parses nothing."""

    def prepare_if_dev(self, project: DbtProject) -> None:
        if self.using_dagster_dev():  # every load: dbt re-parses only what changed
            self._parse(project, always=True)

    def prepare(self, project: DbtProject) -> None:
        self._parse(project, always=False)

    def _parse(self, project: DbtProject, *, always: bool) -> None:
        target = project.project_dir / project.target_path
        target.mkdir(parents=True, exist_ok=True)
        with (target / ".manifest.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if always or manifest_is_stale(project):
                dbt_resource(project).cli(["parse", "--quiet"],
                                          target_path=project.target_path).wait()


def new_dbt_project() -> DbtProject:
    """The project as dagster-dbt sees it, nothing prepared (reads dbt_project.yml)."""
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


@cache
def dbt_project() -> DbtProject:
    """The dbt project, its manifest prepared under `dagster dev` or when stale."""
    project, preparer = new_dbt_project(), WarehouseDbtPreparer()
    if preparer.using_dagster_dev():
        preparer.prepare_if_dev(project)
    else:
        preparer.prepare(project)  # nothing when the manifest is fresh
    saved = project.project_dir / project.target_path / PARTIAL_PARSE
    if saved.exists():  # dagster-dbt's preparer (prepare-and-package) marked its seeds
        align_saved_seeds(saved, project.project_dir)
    return project


def manifest_is_stale(project: DbtProject) -> bool:
    """Missing, or older than a file it is parsed from or a folder of them (a folder changes
    when a file in it is added, removed or renamed): Dagster's assets and checks must match
    what the dbt process it starts will build."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    here = project.project_dir
    sources = [here / "dbt_project.yml", here / "profiles.yml"]
    for folder in (here / "models", here / "tests", here.parent / "macros",
                   here.parent / "seeds"):  # dbt_project.yml: ../macros, ../seeds
        sources += [folder, *folder.rglob("*")]
    return any(p.stat().st_mtime > built for p in sources if p.exists())
