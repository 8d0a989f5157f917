"""The Dagster UI as a user meets it: `dagster-webserver -w workspace.yaml` on a free port,
after one raw day has been materialized; screenshots of the asset graph, a group and an
asset page go to docs/screenshots/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState
from support.browser import SCREENSHOTS, needs_chromium, png_size, screenshot
from support.freshness import freshness_at
from support.samples import SAMPLE_START
from support.servers import free_port

from orchestration.runner import run_range
from saas_warehouse.processes import stop_process
from saas_warehouse.settings import REPO_ROOT, Settings

pytestmark = [pytest.mark.slow, needs_chromium]

LAYERS = ("landing", "raw", "staging", "analytics", "bi")
LATE_ASSET = dg.AssetKey(["raw", "users"])
LATE_HOURS = 80  # past the declared error_after_hours (72)
STARTUP_SECONDS = 240


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert "errors" not in body, body
    return body["data"]


def _asset_keys(base: str) -> set[tuple[str, ...]]:
    nodes = _graphql(base, "{ assetNodes { assetKey { path } } }")["assetNodes"]
    return {tuple(n["assetKey"]["path"]) for n in nodes}


@pytest.fixture
def dagster_home(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance in tmp holding one materialized raw day (the `raw` group, no dbt), whose
    freshness the daemon evaluated as it would 3 days later with no new export (late)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("WAREHOUSE_URL", settings.warehouse_url)  # the code location's
    monkeypatch.setenv("LANDING_URL", settings.landing_url)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_range(settings, SAMPLE_START, SAMPLE_START, instance=instance,
                  selection=dg.AssetSelection.groups("raw"))
        late = freshness_at(instance, time.time() + LATE_HOURS * 3600, [LATE_ASSET])
    assert late == {LATE_ASSET: FreshnessState.FAIL}
    return home


@pytest.fixture
def webserver(settings: Settings, dagster_home: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "WAREHOUSE_URL": settings.warehouse_url,
        "LANDING_URL": settings.landing_url,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # dbt, as `make dev`
    }
    log = (tmp_path / "webserver.log").open("w")
    proc = subprocess.Popen(
        [str(bin_dir / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
         "-p", str(port)],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the code server goes with it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert proc.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            try:
                if any(k[0] == "bi" for k in _asset_keys(base)):
                    break  # serving, and the code location has loaded
            except (urllib.error.URLError, ConnectionError, AssertionError, KeyError):
                pass
            assert time.monotonic() < deadline, "dagster-webserver did not serve in time"
            time.sleep(2)
        # The first visit from 127.0.0.1 opens a newsletter dialog; mark it seen, as a
        # user clicking "Skip" would, so it does not cover the screenshots.
        _graphql(base, "mutation { setNuxSeen }")
        yield base
    finally:
        stop_process(proc, 30, group=True)
        log.close()


def test_dagster_ui_serves_the_asset_graph(webserver: str) -> None:
    keys = _asset_keys(webserver)
    for layer in LAYERS:
        assert any(k[0] == layer for k in keys), f"no {layer}/* asset in {sorted(keys)}"
    for source in ("product_events", "api_requests", "billing_line_items", "tenants", "users"):
        assert ("landing", source) in keys and ("raw", source) in keys
    for view in ("kpi_tenant_daily", "api_usage_daily", "funnel_daily", "retention_cohorts",
                 "benchmarks_daily"):
        assert ("bi", view) in keys

    materialized = _graphql(webserver, """{
      assetOrError(assetKey: {path: ["raw", "product_events"]}) {
        ... on Asset { assetMaterializations(limit: 1) { partition } }
      }
    }""")["assetOrError"]["assetMaterializations"]
    assert [m["partition"] for m in materialized] == [SAMPLE_START.isoformat()]

    # What the asset pages show: the late export, and the views' columns with their types.
    nodes = _graphql(webserver, """{
      assetNodes(assetKeys: [{path: ["raw", "users"]}, {path: ["bi", "kpi_tenant_daily"]}]) {
        assetKey { path }
        freshnessStatusInfo { freshnessStatus }
        metadataEntries { ... on TableSchemaMetadataEntry { schema { columns { name type } } } }
      }
    }""")["assetNodes"]
    by_key = {tuple(n["assetKey"]["path"]): n for n in nodes}
    assert by_key[("raw", "users")]["freshnessStatusInfo"]["freshnessStatus"] == "DEGRADED"
    columns = next(e["schema"]["columns"] for e in by_key[("bi", "kpi_tenant_daily")]
                   ["metadataEntries"] if e)
    assert {"name": "dau", "type": "UInt64"} in columns
    assert all(c["type"] != "?" for c in columns)

    location = "__repository__@orchestration.definitions:defs"
    shots = {
        "dagster-asset-graph": (f"{webserver}/asset-groups", 1600, 900),
        "dagster-group-raw": (f"{webserver}/locations/{location}/asset-groups/raw", 1400, 1000),
        "dagster-asset-raw-product_events": (f"{webserver}/assets/raw/product_events", 1400,
                                             1200),
        "dagster-asset-raw-users-late": (f"{webserver}/assets/raw/users", 1400, 1000),
        "dagster-asset-bi-kpi_tenant_daily": (f"{webserver}/assets/bi/kpi_tenant_daily", 1400,
                                              1400),
    }
    for name, (url, width, height) in shots.items():
        png = screenshot(url, SCREENSHOTS / f"{name}.png", width=width, height=height,
                         virtual_time_ms=15_000, timeout=180)
        assert png_size(png) == (width, height)
        assert png.stat().st_size > 30_000, f"{png} looks empty: the UI did not render"

