"""The real dbt CLI for tests: run it on a project with target/ and logs/ in a temp dir,
and read the embedded warehouse it built."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import clickhouse_connect

from orchestration.transform.project import seed_partial_parse

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO_ROOT / "dbt_project"


def copy_project(root: Path) -> Path:
    """The repository's tracked files (but docs/) copied to `root`, dbt's saved parse with
    them: a project to change freely (its packages, sources/ and dbt project are the ones
    a command run from `root` imports)."""
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    for name in tracked:
        if (REPO_ROOT / name).is_file() and not name.startswith("docs/"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, root / name)
    seed_partial_parse(root / "dbt_project" / "target", project=root / "dbt_project")
    return root


def dbt(args: list[str], project_dir: Path, tmp: Path, **env: str) -> subprocess.CompletedProcess:
    """Run the dbt CLI of this interpreter's environment; target/ and logs/ stay in `tmp`."""
    seed_partial_parse(tmp / "dbt_target", project=project_dir)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    full_env.update(
        DBT_PROFILES_DIR=str(project_dir),
        DBT_LOG_PATH=str(tmp / "dbt_logs"),
        DBT_TARGET_PATH=str(tmp / "dbt_target"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", *args, "--project-dir", str(project_dir)],
        env=full_env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def query(warehouse: Path, sql: str) -> list[tuple]:
    client = clickhouse_connect.get_client(interface="chdb", path=str(warehouse))
    try:
        return [tuple(row) for row in client.query(sql).result_rows]
    finally:
        client.close()


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def tiny_profile(warehouse: Path) -> str:
    """profiles.yml of a throwaway project named `tiny` on an embedded warehouse."""
    return f"""
        tiny:
          target: embedded
          outputs:
            embedded:
              type: chdb
              url: chdb://{warehouse}
              schema: analytics
              threads: 2
    """
