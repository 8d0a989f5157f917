"""The private parts of dagster-dbt the project still leans on, pinned.

WarehouseDbtCli (orchestration/transform/project.py) overrides two private methods of
DbtCliResource, because no public setting skips what they cost before every dbt invocation
(`dbt --version` and an in-process dbt adapter, ~5 s together). If dagster-dbt renames them
or stops calling them (0.27 had other names), the overrides would silently do nothing and
the cost come back: these tests fail instead. Everything else goes through public APIs.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import warnings
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
import msgpack
import pytest
from dagster_dbt import DbtCliResource, DbtProject
from packaging import version
from support.dbt_cli import copy_project

from orchestration.transform.assets import build_dbt_resource
from orchestration.transform.project import (
    CHANGED_SEED,
    PARTIAL_PARSE,
    WarehouseDbtCli,
    WarehouseDbtPreparer,
)


def _record_processes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The arguments of every process started from now on (the list fills as they start)."""
    started: list[list[str]] = []

    class Recording(subprocess.Popen):
        def __init__(self, args, *rest, **kwargs):
            started.append([str(a) for a in args])
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    return started


def test_the_overridden_hooks_are_still_dagster_dbts() -> None:
    base = inspect.getattr_static(DbtCliResource, "_cli_version")
    assert isinstance(base, cached_property), "dagster-dbt changed DbtCliResource._cli_version"
    assert isinstance(inspect.getattr_static(WarehouseDbtCli, "_cli_version"), cached_property)
    adapter = inspect.signature(DbtCliResource._initialize_dbt_core_adapter)
    assert list(adapter.parameters) == ["self", "args"], (
        "dagster-dbt changed DbtCliResource._initialize_dbt_core_adapter"
    )


def test_dbt_starts_without_its_version_asked_or_an_adapter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A real invocation through the resource: the only process started is dbt's command
    itself, and dagster-dbt holds no adapter for it."""
    dbt = build_dbt_resource()  # prepares the manifest first if stale: not recorded
    started = _record_processes(monkeypatch)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))  # the invocation's artifacts
    invocation = dbt.cli(["debug", "--config-dir"]).wait()
    assert invocation.is_successful()
    assert [args[1:] for args in started] == [["debug", "--config-dir"]]
    assert invocation.adapter is None
    assert invocation.cli_version == version.parse(installed_version("dbt-core"))


@pytest.mark.slow  # a dbt process
def test_preparing_a_stale_manifest_starts_dbt_parse_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The project's preparer (dagster-dbt's public interface) parses through the resource:
    no `dbt --version` first; the saved parse keeps its seeds' checksums."""
    copy = copy_project(tmp_path / "copy") / "dbt_project"  # its manifest: missing
    started = _record_processes(monkeypatch)
    monkeypatch.setenv("WAREHOUSE_URL", f"chdb://{tmp_path / 'warehouse'}")
    project, preparer = DbtProject(project_dir=copy, profiles_dir=copy), WarehouseDbtPreparer()
    preparer.prepare(project)
    assert [args[1:] for args in started] == [["parse", "--quiet"]]
    assert project.manifest_path.exists()
    saved = msgpack.unpackb((copy / "target" / PARTIAL_PARSE).read_bytes(),
                            strict_map_key=False)
    seeds = [f for f in saved["files"].values() if f.get("parse_file_type") == "seed"]
    assert seeds and all(f["checksum"] != CHANGED_SEED for f in seeds)
    preparer.prepare(project)  # fresh now: nothing started
    assert len(started) == 1


@pytest.mark.slow  # a dbt process
def test_a_dbt_invocation_on_the_prepared_project_parses_nothing_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DbtCliResource copies the project's saved parse into each invocation's target: with
    its seeds' real checksums (dagster-dbt's own preparer marks every seed changed), a run
    re-parses nothing. A copy of the project elsewhere gets the mark (its seeds' saved
    directory is not its own)."""
    dbt = build_dbt_resource()  # prepares the manifest if stale
    monkeypatch.setenv("WAREHOUSE_URL", f"chdb://{tmp_path / 'warehouse'}")
    invocation = dbt.cli(["parse"]).wait()  # in a new directory under the project's target/
    try:
        assert invocation.is_successful()
        log = (invocation.target_path / "dbt.log").read_text()
    finally:
        shutil.rmtree(invocation.target_path)
    assert "no changes found, skipping parsing" in log, log[-3000:]

    copy = copy_project(tmp_path / "copy")
    saved = msgpack.unpackb((copy / "dbt_project" / "target" / PARTIAL_PARSE).read_bytes(),
                            strict_map_key=False)
    seeds = [f for f in saved["files"].values() if f.get("parse_file_type") == "seed"]
    assert len(seeds) == len(list((copy / "seeds").glob("*.csv"))) > 0
    assert all(f["checksum"] == CHANGED_SEED for f in seeds)


def test_no_dagster_warning_is_silenced_process_wide() -> None:
    """Importing the code location leaves Python's warning filters to their owner."""
    import orchestration.definitions  # noqa: F401

    silenced = [f for f in warnings.filters if f[0] == "ignore" and f[2] is dg.BetaWarning]
    assert silenced == []
