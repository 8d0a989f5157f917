"""S3 landing through a real S3 server on 127.0.0.1, the sensor, and the definitions."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest
from support.samples import SAMPLE_DAYS, SAMPLE_START
from support.servers import S3Server
from support.warehouse_reads import raw_counts

from orchestration.definitions import build_definitions
from orchestration.raw import assets as raw_assets
from orchestration.raw.sensors import new_exports_sensor
from orchestration.runner import failure_message, run_range
from saas_warehouse.settings import REPO_ROOT, Settings
from saas_warehouse.sources import load_sources

DAYS = [SAMPLE_START + dt.timedelta(days=i) for i in range(SAMPLE_DAYS)]


def upload_tree(s3: S3Server, root: Path, bucket: str, prefix: str) -> None:
    client = s3.client()
    client.create_bucket(Bucket=bucket)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root)}")


def s3_expected(s3: S3Server, bucket: str, prefix: str, source: str) -> tuple[int, int]:
    """(rows, distinct (day, id)) computed with boto3 + pandas, independently of ClickHouse."""
    client = s3.client()
    rows, distinct = 0, 0
    for day in DAYS:
        listing = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/{source}/dt={day}/")
        frames = []
        for obj in listing["Contents"]:
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"]
            if obj["Key"].endswith(".parquet"):
                frames.append(pq.read_table(pd.io.common.BytesIO(body.read())).to_pandas())
            elif obj["Key"].endswith(".csv"):
                frames.append(pd.read_csv(body, dtype=str))
        frame = pd.concat(frames, ignore_index=True)
        rows += len(frame)
        distinct += frame[load_sources()[source].id_column].nunique()
    return rows, distinct


@pytest.mark.slow  # a real Dagster run of the loaders over S3
def test_s3_load_matches_the_files(
    s3_env: S3Server, landing_dir: Path, settings: Settings, instance
) -> None:
    upload_tree(s3_env, landing_dir, "exports", "daily")
    s3_settings = Settings(settings.warehouse_url, "s3://exports/daily", settings.dagster_home)
    run_range(s3_settings, DAYS[0], DAYS[-1], instance=instance,
              selection=dg.AssetSelection.groups("raw"))
    for source in load_sources():
        assert raw_counts(settings.warehouse_url, source, DAYS) == s3_expected(
            s3_env, "exports", "daily", source
        ), source


@pytest.mark.slow  # waits out the real retry policy's backoff (2 + 4 + 8 s)
def test_unreachable_s3_fails_with_a_clear_message(
    s3_env: S3Server, settings: Settings, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # The loaders' retry policy with its waits cut from 2+4+8 s: what is tested is that the
    # step is retried, not how long it waits.
    policy = raw_assets.TRANSIENT_RETRY
    monkeypatch.setattr(raw_assets, "TRANSIENT_RETRY", dg.RetryPolicy(
        max_retries=policy.max_retries, delay=0.01, backoff=policy.backoff, jitter=policy.jitter))
    s3_settings = Settings(settings.warehouse_url, "s3://exports/daily", settings.dagster_home)
    defs = build_definitions(s3_settings)
    job = defs.resolve_job_def("daily_warehouse").get_subset(
        asset_selection={dg.AssetKey(["raw", "tenants"])}
    )
    # Retries are for transient errors: the run retries the step, then fails naming the cause.
    result = job.execute_in_process(
        instance=instance, partition_key=DAYS[0].isoformat(), raise_on_error=False
    )
    assert not result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 3  # transient: retried with backoff before failing
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure_message(failure)
    assert "tenants 2026-03-01: listing failed" in message
    assert "127.0.0.1:9" in message


def sensor_requests(landing_url: str, cursor: str | None) -> tuple[list[dg.RunRequest], str]:
    defs = build_definitions(Settings("chdb:///nonexistent", landing_url, "/tmp"))
    landing = defs.resources["landing"]
    with dg.build_sensor_context(
        cursor=cursor, resources={"landing": landing}, definitions=defs
    ) as context:
        result = new_exports_sensor(context)
    return list(result.run_requests or []), result.cursor


def test_sensor_requests_only_new_complete_partitions(landing_dir: Path) -> None:
    marker = landing_dir / "users" / f"dt={DAYS[-1]}" / "_SUCCESS"
    marker.unlink()  # one incomplete partition
    requests, cursor = sensor_requests(str(landing_dir), None)
    requested = {
        (r.partition_key, k.path[-1]) for r in requests for k in r.asset_selection
        if k.path[0] == "raw"
    }
    expected = {(d.isoformat(), s) for d in DAYS for s in load_sources()}
    expected -= {(DAYS[-1].isoformat(), "users")}
    assert requested == expected
    # Each run also builds what depends on its raw days, up to the bi views.
    assert all(
        any(k.path[0] == "bi" for k in r.asset_selection) for r in requests
    )

    # Nothing new: nothing requested, and the sensor never opened a warehouse.
    again, cursor = sensor_requests(str(landing_dir), cursor)
    assert again == []
    assert not Path("/nonexistent").exists()

    # The partition completes, and another is re-exported (its _SUCCESS rewritten).
    marker.touch()
    reexported = landing_dir / "api_requests" / f"dt={DAYS[0]}" / "_SUCCESS"
    stat = reexported.stat()
    os.utime(reexported, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third, _ = sensor_requests(str(landing_dir), cursor)
    assert {
        (r.partition_key, tuple(k.path[-1] for k in r.asset_selection if k.path[0] == "raw"))
        for r in third
    } == {
        (DAYS[-1].isoformat(), ("users",)),
        (DAYS[0].isoformat(), ("api_requests",)),
    }
    assert len({r.run_key for r in third}) == 2
    json.loads(cursor)  # the cursor is plain JSON, readable in the UI


@pytest.mark.slow  # `dagster definitions validate` loads the whole code location (~8 s)
def test_dagster_definitions_validate() -> None:
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_second_process_gets_a_plain_message(tmp_path: Path) -> None:
    from saas_warehouse.warehouse import WarehouseLockedError, open_warehouse

    url = f"chdb://{tmp_path / 'wh'}"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from saas_warehouse.warehouse import get_client; "
         f"c = get_client({url!r}); print('open', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseLockedError, match=str(tmp_path / "wh")):
            with open_warehouse(url):
                pass
    finally:
        holder.kill()
        holder.wait()
