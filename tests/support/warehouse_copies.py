"""Built warehouses shared by the test session: built once, whichever xdist worker asks
first (the others wait), then copied by each worker before it opens one (an embedded
warehouse is open in one process at a time)."""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Callable
from pathlib import Path

from saas_warehouse.settings import Settings


def built_once(shared: Path, name: str, build: Callable[[Path], None]) -> Path:
    """`shared/name`, made by `build(directory)` once per test session across its workers."""
    directory, done = shared / name, shared / f"{name}.built"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            build(directory)
            done.touch()
    return directory


def copy_warehouse(source: Settings, tmp_path: Path, *, landing: bool = True) -> Settings:
    """A copy of a built warehouse (and of its exports unless `landing=False`: then the copy
    reads the same ones) that a test may change: seconds of copying instead of a load and
    build. chDB's links inside its directory are relative, so the copy is a warehouse of its
    own."""
    warehouse = tmp_path / "warehouse"
    shutil.copytree(source.warehouse.path, warehouse, symlinks=True)
    landing_url = source.landing_url
    if landing:
        shutil.copytree(source.landing_url, tmp_path / "landing")
        landing_url = str(tmp_path / "landing")
    return Settings(warehouse_url=f"chdb://{warehouse}", landing_url=landing_url,
                    dagster_home=str(tmp_path / "dagster_home"))
