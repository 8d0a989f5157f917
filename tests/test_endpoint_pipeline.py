"""Everyone through `serve`: `saas-warehouse run` (the loaders, then `dbt build` with
dbt-clickhouse's own HTTP driver: the production path) against the endpoint builds the same
relations, with the same rows, as the same day's run in-process (conftest.first_day_warehouse)
(slow: a full run through the endpoint)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.endpoint_server import ADMIN_PASSWORD, REPO, serving
from support.samples import SAMPLE_START

from orchestration.runner import throwaway_dagster_home
from saas_warehouse.settings import Settings
from saas_warehouse.warehouse import open_warehouse

RELATIONS = ("SELECT database, name, engine FROM system.tables WHERE database IN "
             "('raw', 'staging', 'analytics', 'bi') AND NOT startsWith(name, '.') ORDER BY ALL")


def run_cli(warehouse_url: str, landing: Path, home: Path, *args: str):
    env = {**os.environ, "WAREHOUSE_URL": warehouse_url, "LANDING_URL": str(landing),
           "DAGSTER_HOME": str(throwaway_dagster_home(home)), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "saas_warehouse_cli", *args], env=env,
                          capture_output=True, text=True, timeout=900, cwd=REPO)


def snapshot(url: str) -> dict[str, object]:
    """Every relation of the pipeline with its row count; the bi views' rows as a hash."""
    with open_warehouse(url) as client:
        relations = client.query(RELATIONS).result_rows
        counts = {}
        for database, name, _ in relations:
            counts[f"{database}.{name}"] = client.query(
                f"SELECT count() FROM `{database}`.`{name}`").result_rows[0][0]
        hashes = {name: client.query(f"SELECT groupBitXor(cityHash64(*)) FROM bi.`{name}`"
                                     ).result_rows[0][0]
                  for database, name, _ in relations if database == "bi"}
    return {"relations": relations, "counts": counts, "bi": hashes}


@pytest.mark.slow
def test_a_run_through_serve_builds_what_an_in_process_run_builds(
    first_day_warehouse: Settings, sample_landing_template: Path, tmp_path: Path,
) -> None:
    day = SAMPLE_START.isoformat()
    served_url = f"chdb://{tmp_path / 'served'}"
    with serving(served_url, tmp_path / "serve", ()) as served:
        remote = f"http://admin:{ADMIN_PASSWORD}@127.0.0.1:{served.port}"
        done = run_cli(remote, sample_landing_template, tmp_path / "home", "run", "--start",
                       day, "--end", day)
        assert done.returncode == 0, done.stderr[-3000:]
        # The CLI through the endpoint, while it runs.
        asked = run_cli(remote, sample_landing_template, tmp_path / "home", "query",
                        "SELECT count() FROM bi.kpi_tenant_daily", "--format", "csv")
        assert asked.returncode == 0, asked.stderr
    expected, got = snapshot(first_day_warehouse.warehouse_url), snapshot(served_url)
    assert got["relations"] == expected["relations"]
    assert got["counts"] == expected["counts"]
    assert got["bi"] == expected["bi"]
    assert any(n for n in got["counts"].values())
    assert asked.stdout.splitlines()[1] == str(got["counts"]["bi.kpi_tenant_daily"])
