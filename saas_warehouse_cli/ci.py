"""`saas-warehouse ci --base REF`: what a team runs on a pull request that changes the dbt
project (docs/ci.md).

The base ref's tree is built once on sample exports, by its own `saas-warehouse run`, and kept
under `.ci-cache/<base commit>/`: its warehouse and its dbt manifest. Then a copy of that
warehouse gets `dbt build --select state:modified+ --state <the base manifest>`: the models
this tree changed and everything downstream of them, with their data and unit tests.

A copy of the base warehouse rather than dbt's `--defer`: deferring reads the unchanged parents
from another target's relations, but on the embedded engine the base is a directory that one
process opens at a time, under the same database names; a copy takes a second and already
holds every unchanged parent, built from the same exports by the base's code.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestration.runner import throwaway_dagster_home
from orchestration.transform.project import PARTIAL_PARSE, dbt_executable, seed_partial_parse
from saas_warehouse.settings import REPO_ROOT

CACHE = ".ci-cache"
# The sample exports every base is built on: small, and long enough for the 7-day windows.
CI_START, CI_DAYS = dt.date(2026, 10, 1), 3
CI_SHAPE = {"tenants": 8, "seed": 7, "events_per_day": 1500}
FAILED = ("error", "fail", "runtime error")
# What dbt parses: the project, the macros and seeds it reaches, and the declarations its
# raw sources are generated from.
DBT_INPUTS = ("dbt_project", "macros", "seeds", "sources")
KEPT_BASES = 5  # cached base builds kept in .ci-cache/, the most recently used


class CiFailed(RuntimeError):
    """A model or test failed; the message names each one."""


@dataclass(frozen=True)
class Built:
    """One dbt node the build ran: `unique_id`, its status and seconds."""
    unique_id: str
    status: str
    seconds: float

    @property
    def failed(self) -> bool:
        return self.status in FAILED


def run_ci(base: str, repo: Path = REPO_ROOT, out=sys.stderr) -> list[Built]:
    """Build what changed since `base`; raise CiFailed naming every failed node."""
    sha = _git(repo, "rev-parse", "--verify", f"{base}^{{commit}}")
    cache = repo / CACHE / sha
    if (cache / "built").exists():
        print(f"base {base} ({sha[:10]}): built before, in {cache}", file=out)
    else:
        print(f"base {base} ({sha[:10]}): building it on sample exports, once ...", file=out)
        build_base(repo, sha, cache)
    (cache / "built").touch()  # used now: the last to go
    _prune_bases(repo / CACHE)
    if not _dbt_inputs_changed(repo, sha):
        for name in ("run_results.json", "manifest.json"):  # no build: no artifacts
            (repo / CACHE / name).unlink(missing_ok=True)
        print(f"nothing changed since {base}: nothing to build", file=out)
        return []
    with tempfile.TemporaryDirectory(prefix="saas-warehouse-ci-") as tmp:
        warehouse = Path(tmp) / "warehouse"
        shutil.copytree(cache / "warehouse", warehouse, symlinks=True)
        built = _build_modified(repo, warehouse, cache / "state", Path(tmp) / "target",
                                kept=repo / CACHE)
    if not built:
        print(f"nothing changed since {base}: nothing to build", file=out)
        return built
    width = max(len(b.unique_id) for b in built)
    for node in built:
        print(f"  {node.unique_id:<{width}}  {node.status:<7} {node.seconds:6.2f}s", file=out)
    failed = [b.unique_id for b in built if b.failed]
    print(f"built and tested {len(built)} node(s) changed since {base} or downstream; "
          f"{len(failed)} failed (dbt's log and run_results.json: {repo / CACHE})", file=out)
    if failed:
        raise CiFailed("failed: " + ", ".join(failed))
    return built


def build_base(repo: Path, sha: str, cache: Path) -> None:
    """The base tree's warehouse and manifest, from its own `saas-warehouse run`."""
    from sample_exports import generate

    shutil.rmtree(cache, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="saas-warehouse-ci-base-") as tmp:
        tree = Path(tmp) / "tree"
        archive = subprocess.run(["git", "archive", "--format=tar", sha], cwd=repo,
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        # The working tree's saved dbt parse, if any: the base's dbt re-parses what differs only.
        seed_partial_parse(tree / "dbt_project" / "target", repo / "dbt_project" / "target",
                           project=tree / "dbt_project")
        landing = Path(tmp) / "landing"
        generate(str(landing), CI_START, CI_DAYS, progress=False, **CI_SHAPE)
        last = CI_START + dt.timedelta(days=CI_DAYS - 1)
        env = {**_clean_env(), "WAREHOUSE_URL": f"chdb://{cache / 'warehouse'}",
               "LANDING_URL": str(landing),
               "DAGSTER_HOME": str(throwaway_dagster_home(Path(tmp) / "dagster")),
               "PYTHONPATH": str(tree)}  # the base's own code, not this tree's
        done = subprocess.run(
            [sys.executable, "-m", "saas_warehouse_cli", "run", "--start", CI_START.isoformat(),
             "--end", last.isoformat()], cwd=tree, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(cache, ignore_errors=True)
            last_line = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise CiFailed(f"the base {sha[:10]} does not build on the sample exports: "
                           f"{last_line}")
        (cache / "state").mkdir(parents=True)
        for name in ("manifest.json", PARTIAL_PARSE):  # the parse: for every build on it
            if (tree / "dbt_project" / "target" / name).exists():
                shutil.copyfile(tree / "dbt_project" / "target" / name, cache / "state" / name)
    (cache / "built").touch()


def _build_modified(repo: Path, warehouse: Path, state: Path, target: Path,
                    kept: Path) -> list[Built]:
    """dbt build of what changed on `warehouse`; its log, run_results.json and manifest.json
    are kept in `kept` (a CI job's artifacts)."""
    project = repo / "dbt_project"
    log = kept / "dbt.log"
    for name in ("run_results.json", "manifest.json"):
        (kept / name).unlink(missing_ok=True)
    # The working tree's saved parse, else the base's.
    seed_partial_parse(target, project / "target", state, project=project)
    last = CI_START + dt.timedelta(days=CI_DAYS - 1)
    env = {**_clean_env(), "WAREHOUSE_URL": f"chdb://{warehouse}",
           "SAAS_WAREHOUSE_START_DATE": CI_START.isoformat(),
           "SAAS_WAREHOUSE_END_DATE": last.isoformat()}
    with log.open("w", encoding="utf-8") as out:
        subprocess.run(
            [dbt_executable(), "build", "--select", "state:modified+",
             "--state", str(state), "--target-path", str(target), "--project-dir", str(project),
             "--profiles-dir", str(project)],
            cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT)
    results = target / "run_results.json"
    if not results.exists():  # dbt stopped before it ran anything (a parse error)
        raise CiFailed(f"dbt did not run: see {log}")
    for name in ("run_results.json", "manifest.json"):
        shutil.copyfile(target / name, kept / name)
    return [Built(r["unique_id"], r["status"], r["execution_time"])
            for r in json.loads(results.read_text())["results"]]


def _dbt_inputs_changed(repo: Path, sha: str) -> bool:
    """Whether any file dbt parses differs from `sha` (edited, added or removed): when none
    does, `state:modified+` selects nothing, and dbt need not start (~6 s) to say so."""
    if _git(repo, "diff", "--name-only", sha, "--", *DBT_INPUTS):
        return True
    return bool(_git(repo, "ls-files", "--others", "--exclude-standard", "--", *DBT_INPUTS))


def _prune_bases(cache: Path) -> None:
    """All but the KEPT_BASES most recently used base builds removed."""
    bases = sorted((p for p in cache.iterdir() if (p / "built").exists()),
                   key=lambda p: (p / "built").stat().st_mtime)
    for old in bases[:-KEPT_BASES]:
        shutil.rmtree(old, ignore_errors=True)


def _clean_env() -> dict[str, str]:
    """This environment without a DBT_ or SAAS_WAREHOUSE_ setting of the user's shell."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("DBT_", "SAAS_WAREHOUSE_", "WAREHOUSE_URL", "LANDING_URL"))}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if done.returncode != 0:
        raise CiFailed(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()
