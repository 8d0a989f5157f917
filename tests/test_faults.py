"""Faults: S3 failing mid-load, a load killed with kill -9, dbt failing midway, two runs for
the same day at once. After each, the warehouse equals a clean run of the same exports."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from support import small_exports as sx
from support.landing_frames import expected_counts, partition_files
from support.samples import SAMPLE_START
from support.servers import free_port
from support.warehouse_reads import query, raw_counts

from ingest_loaders.errors import TransientLoadError
from ingest_loaders.landing import landing_from_url
from ingest_loaders.load import load_partition
from orchestration.runner import RunFailed, run_range
from saas_warehouse.settings import REPO_ROOT, Settings
from saas_warehouse.sources import load_sources
from saas_warehouse.warehouse import ensure_databases, open_warehouse

pytestmark = pytest.mark.slow  # real dbt/Dagster runs: not in `make test-fast`

DAY = dt.date(2026, 7, 1)
TESTS = Path(__file__).parent


def fingerprint(url: str, databases: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Every table of those databases → (rows, hash of its rows), leaving out what differs
    between two equal loads (load ids and load times), the latest-load view of the ledger, and
    the pipeline's record of its own runs (raw.pipeline_runs, the ops view over it)."""
    out = {}
    with open_warehouse(url) as client:
        tables = client.query(
            "SELECT database, name FROM system.tables WHERE database IN {dbs:Array(String)} "
            "AND NOT startsWith(name, '_load_') AND name != 'pipeline_runs' "
            "AND NOT startsWith(name, 'ops_') ORDER BY database, name",
            parameters={"dbs": list(databases)},
        ).result_rows
        for db, name in tables:
            columns = [c for (c,) in client.query(
                "SELECT name FROM system.columns WHERE database = {db:String} AND "
                "table = {t:String} AND name NOT ILIKE '%load%' "
                "AND name NOT IN ('rejected_at', 'landed_at')",
                parameters={"db": db, "t": name}).result_rows]
            where = " WHERE status != 'failed'" if name == "load_ledger" else ""
            rows, digest = client.query(
                f"SELECT count(), sum(cityHash64({', '.join(f'`{c}`' for c in columns)})) "
                f"FROM {db}.`{name}`{where}").result_rows[0]
            out[f"{db}.{name}"] = (int(rows), int(digest or 0))
    return out


def scratch_tables(client) -> list[str]:
    return [n for (n,) in client.query(
        "SELECT name FROM system.tables WHERE database = 'raw' AND startsWith(name, '_load_')"
    ).result_rows]


# --- S3 failing in the middle of a load ----------------------------------------------------


class StopsAfter:
    """A landing zone whose S3 server goes away after `calls` reads have been prepared."""

    def __init__(self, landing, server: ThreadedMotoServer, calls: int) -> None:
        self.landing, self.server, self.calls = landing, server, calls

    def __getattr__(self, name):
        return getattr(self.landing, name)

    def table_function(self, *args):
        self.calls -= 1
        if self.calls == 0:
            self.server.stop()
        return self.landing.table_function(*args)


def test_s3_failing_mid_load_keeps_the_previous_day(tmp_path: Path, s3_server) -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {**s3_server.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    client = type(s3_server)(env["AWS_ENDPOINT_URL"]).client()
    client.create_bucket(Bucket="midload")

    def export(version: str, rows: int) -> None:
        for name in ("a", "b"):
            table = sx.api_requests(DAY, rows, f"{version}{name}")
            client.put_object(Bucket="midload", Key=f"x/api_requests/dt={DAY}/{name}.parquet",
                              Body=sx.parquet_bytes(table))
        client.put_object(Bucket="midload", Key=f"x/api_requests/dt={DAY}/_SUCCESS", Body=b"")

    session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    landing = landing_from_url("s3://midload/x", s3_client=client, session=session)
    url = f"chdb://{tmp_path / 'wh'}"
    try:
        with open_warehouse(url) as wh:
            ensure_databases(wh)
            export("v1", 20)
            load_partition(wh, landing, load_sources()["api_requests"], DAY)
            export("v2", 30)
            # File a is read, then the store stops answering while file b is read.
            started = time.perf_counter()
            with pytest.raises(TransientLoadError) as failure:
                load_partition(wh, StopsAfter(landing, server, calls=4),
                               load_sources()["api_requests"], DAY)
            seconds = time.perf_counter() - started
            assert f"api_requests/dt={DAY}/b.parquet" in str(failure.value)
            assert seconds < 120  # a clear failure, not a hang
            # The previous version of the day is what raw shows; nothing half-loaded.
            assert wh.query("SELECT count(), min(request_id) FROM raw.api_requests").result_rows \
                == [(40, "v1a0")]
            assert scratch_tables(wh) == []
            # The store comes back (same data): the retry loads the new version.
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            result = load_partition(wh, landing, load_sources()["api_requests"], DAY)
            assert (result.rows_read, result.rows_loaded) == (60, 60)
    finally:
        server.stop()


# --- kill -9 in the middle of a load -------------------------------------------------------

CHILD = """
import datetime as dt, sys, time
from ingest_loaders import ledger, load
from ingest_loaders.landing import landing_from_url
from saas_warehouse.sources import load_sources
from saas_warehouse.warehouse import ensure_databases, open_warehouse
url, root, point = sys.argv[1:4]
def pause(*args, **kwargs):
    print("paused", flush=True)
    time.sleep(120)
if point == "after_first_file":
    original = load._PartitionLoad._insert_rows
    def read_then_pause(self, f, layout, *, rejects):
        original(self, f, layout, rejects=rejects)
        pause()
    load._PartitionLoad._insert_rows = read_then_pause
else:  # the day is swapped in, the ledger not yet written
    load.ledger.record = pause
with open_warehouse(url) as client:
    ensure_databases(client)
    load.load_partition(client, landing_from_url(root), load_sources()["product_events"],
                        dt.date(2026, 7, 1))
"""


@pytest.mark.parametrize("point", ["after_first_file", "after_swap"])
def test_killed_load_reruns_to_a_clean_result(tmp_path: Path, point: str) -> None:
    root = tmp_path / "landing"
    url = f"chdb://{tmp_path / 'wh'}"
    sx.write_partition(root, "product_events", DAY, sx.valid_files("product_events", DAY, 10))
    with open_warehouse(url) as wh:
        ensure_databases(wh)
        load_partition(wh, landing_from_url(str(root)), load_sources()["product_events"], DAY)
    final = {f"part-{i}.parquet": sx.parquet_bytes(sx.product_events(DAY, 50, f"p{i}_"))
             for i in range(2)}
    sx.write_partition(root, "product_events", DAY, final)

    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(root), point],
                             stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        assert child.stdout.readline().strip() == "paused"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()

    with open_warehouse(url) as wh:
        count = wh.query("SELECT count() FROM raw.product_events").result_rows[0][0]
        assert count == (10 if point == "after_first_file" else 100)  # never half a day
        assert scratch_tables(wh)  # the killed load's leftovers
        events = load_sources()["product_events"]
        result = load_partition(wh, landing_from_url(str(root)), events, DAY)
        assert result.status == "loaded" and result.rows_loaded == 100
        assert scratch_tables(wh) == []
    recovered = fingerprint(url, ("raw",))

    clean_root = tmp_path / "clean_landing"
    sx.write_partition(clean_root, "product_events", DAY, final)
    clean_url = f"chdb://{tmp_path / 'clean'}"
    with open_warehouse(clean_url) as wh:
        ensure_databases(wh)
        load_partition(wh, landing_from_url(str(clean_root)), load_sources()["product_events"], DAY)
    clean = fingerprint(clean_url, ("raw",))
    # The ledger also remembers the first version's load; everything else is equal.
    assert {k: v for k, v in recovered.items() if k != "raw.load_ledger"} == {
        k: v for k, v in clean.items() if k != "raw.load_ledger"}


# --- two runs for the same day at once -----------------------------------------------------

RUN = """
import datetime as dt, sys
import dagster as dg
from orchestration.runner import run_range
from saas_warehouse.settings import Settings
day = dt.date.fromisoformat(sys.argv[3])
with dg.instance_for_test() as instance:
    run_range(Settings(sys.argv[1], sys.argv[2], "/tmp/unused"), day, day, instance=instance,
              selection=dg.AssetSelection.groups("raw"))
print("done", flush=True)
"""


def test_two_runs_for_the_same_day_take_turns(
    settings: Settings, landing_dir: Path, first_day_warehouse: Settings
) -> None:
    day = SAMPLE_START.isoformat()
    runs = [
        subprocess.Popen([sys.executable, "-c", RUN, settings.warehouse_url,
                          settings.landing_url, day], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=False):
        assert run.returncode == 0 and "done" in out, err[-3000:]
    both = fingerprint(settings.warehouse_url, ("raw",))
    # Each (source, day) was loaded once; the other run found it unchanged.
    assert query(settings.warehouse_url, "SELECT count() FROM raw.load_ledger WHERE "
                 "status = 'loaded' GROUP BY source, file HAVING count() > 1") == []

    assert both == fingerprint(first_day_warehouse.warehouse_url, ("raw",))  # one clean run


# --- dbt failing midway --------------------------------------------------------------------


def test_dbt_failing_midway_keeps_raw_and_recovers(
    settings: Settings, landing_dir: Path, first_day_warehouse: Settings, instance
) -> None:
    """A users export with an unknown role loads (a warning), then fails dbt's accepted_values
    test on stg_product__users: dbt stops midway. Raw stays loaded; after the corrected re-export
    the re-run builds exactly what a clean run builds."""
    day = SAMPLE_START
    users = partition_files(landing_dir, "users", day)[0]
    original = users.read_bytes()
    lines = original.decode().splitlines()
    lines[1:] = [",".join([*r.split(",")[:2], "superuser", *r.split(",")[3:]]) for r in lines[1:]]
    users.write_text("\n".join(lines) + "\n")

    with pytest.raises(RunFailed, match="dbt"):
        run_range(settings, day, day, instance=instance)
    run = instance.get_runs(limit=1)[0]
    built = {e.dagster_event.asset_key.path[0] for e in instance.all_logs(run.run_id)
             if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"}
    assert {"raw", "staging"} <= built  # raw loaded, some models built before the failure
    for source in load_sources():
        assert raw_counts(settings.warehouse_url, source, [day]) == expected_counts(
            landing_dir, source, [day]), source

    users.write_bytes(original)  # the corrected re-export
    (users.parent / "_SUCCESS").touch()
    run_range(settings, day, day, instance=instance)
    recovered = fingerprint(settings.warehouse_url, ("staging", "analytics", "bi"))
    clean = first_day_warehouse  # the same day's clean run
    assert day == SAMPLE_START
    assert recovered == fingerprint(clean.warehouse_url, ("staging", "analytics", "bi"))
    assert len(recovered) > 10
