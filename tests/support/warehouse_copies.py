"""Copies of built warehouses, for tests that change one."""

from __future__ import annotations

import shutil
from pathlib import Path

from saas_warehouse.settings import Settings


def copy_warehouse(source: Settings, tmp_path: Path) -> Settings:
    """A copy of a built warehouse and its exports that a test may change: seconds of copying
    instead of a load and build. chDB's links inside its directory are relative, so the copy
    is a warehouse of its own."""
    warehouse, landing = tmp_path / "warehouse", tmp_path / "landing"
    shutil.copytree(source.warehouse.path, warehouse, symlinks=True)
    shutil.copytree(source.landing_url, landing)
    return Settings(warehouse_url=f"chdb://{warehouse}", landing_url=str(landing),
                    dagster_home=str(tmp_path / "dagster_home"))
