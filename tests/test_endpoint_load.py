"""Load and faults through `saas-warehouse serve` (issue 26, part 7), on real processes: 8 BI
clients (clickhouse-connect over HTTP) query the `bi` views while a Dagster run re-loads and
builds days through the endpoint, and each day shows its old or its new rows, never half;
SIGTERM while queries run; `kill -9` of serve in the middle of a load; clients that stall."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from support.endpoint_server import (
    ADMIN_PASSWORD,
    REPO,
    TOY_TENANTS,
    Served,
    build_toy_warehouse,
    request,
    serving,
)
from support.landing_frames import expected_counts, partition_files, read_partition
from support.samples import SAMPLE_START
from support.warehouse_copies import copy_warehouse
from support.warehouse_reads import raw_counts

from orchestration.runner import throwaway_dagster_home
from saas_warehouse.settings import Settings
from saas_warehouse.sources import load_sources
from saas_warehouse.warehouse import serve_file

pytestmark = pytest.mark.slow  # real serve processes and Dagster/dbt runs

DAY1, DAY2 = SAMPLE_START, SAMPLE_START + dt.timedelta(days=1)
DAYS = (DAY1.isoformat(), DAY2.isoformat())
QUERY_TIMEOUT = 60  # seconds: a query slower than this counts as a hang
THINK_SECONDS = 1.0  # a BI client's pause between two queries (a dashboard user clicks slower)


def start_run(served: Served, landing: Path, home: Path, start: dt.date,
              end: dt.date) -> subprocess.Popen:
    """`saas-warehouse run` through the endpoint, as the admin login (a subprocess)."""
    env = {**os.environ, "WAREHOUSE_URL": f"http://admin:{ADMIN_PASSWORD}@127.0.0.1:{served.port}",
           "LANDING_URL": str(landing), "DAGSTER_HOME": str(throwaway_dagster_home(home)),
           "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "saas_warehouse_cli", "run", "--start", start.isoformat(),
         "--end", end.isoformat()], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)


def finished(run: subprocess.Popen, timeout: float = 600) -> int:
    try:
        _, err = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        run.kill()
        run.wait()
        raise
    assert run.returncode == 0, err[-3000:]
    return run.returncode


def tenant_ids(landing: Path) -> list[str]:
    return sorted(read_partition(landing, "tenants", DAY1)["tenant_id"].unique())


def reexport_fewer_events(landing: Path, day: dt.date) -> None:
    """A corrected re-export of the day's product events: every third event withdrawn."""
    for path in partition_files(landing, "product_events", day):
        table = pq.read_table(path)
        pq.write_table(table.take([i for i in range(table.num_rows) if i % 3]), path)
    (path.parent / "_SUCCESS").touch()


# Each client's reading of the days it checks: {day: value} (a day absent from the answer
# is absent from the dict).
TENANT_SQL = ("SELECT toString(date), events, api_requests FROM bi.kpi_tenant_daily "
              f"WHERE date IN ('{DAYS[0]}', '{DAYS[1]}')")
ANALYST_SQL = ("SELECT toString(date), count(), sum(events), sum(api_requests) "
               f"FROM bi.kpi_tenant_daily WHERE date IN ('{DAYS[0]}', '{DAYS[1]}') GROUP BY date")
RAW_SQL = ("SELECT toString(_partition_date), count(), uniqExact(event_id) "
           f"FROM raw.product_events WHERE _partition_date IN ('{DAYS[0]}', '{DAYS[1]}') "
           "GROUP BY _partition_date")
OTHER_SQL = ("SELECT service, sum(requests) FROM bi.api_usage_daily GROUP BY service "
             "ORDER BY service")  # load, not checked


def reading(client: Any, sql: str) -> dict[str, tuple]:
    return {row[0]: tuple(row[1:]) for row in client.query(sql).result_rows}


class Clients:
    """Threads, each its own clickhouse-connect client, querying in a loop until stopped:
    every reading of a checked query is kept with the moment it was asked, every error too.
    `who`: (label, login, checked query); each BI client also asks OTHER_SQL in between."""

    def __init__(self, served: Served, who: list[tuple[str, str, str]]) -> None:
        self.served = served
        self.seen: dict[str, list[tuple[float, dict[str, tuple]]]] = {w[0]: [] for w in who}
        self.errors: list[str] = []
        self.queries = 0
        self.slowest = 0.0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=w, daemon=True) for w in who]

    def _loop(self, label: str, user: str, sql: str) -> None:
        client = self.served.client(user, send_receive_timeout=QUERY_TIMEOUT,
                                    connect_timeout=10, compress=user == "analyst")
        try:
            while not self._stop.is_set():
                for query in (sql, OTHER_SQL) if user != "admin" else (sql,):
                    began = time.monotonic()
                    try:
                        answer = reading(client, query)
                    except Exception as e:  # noqa: BLE001 (every failure is a finding)
                        self.errors.append(f"{label}: {type(e).__name__}: {e}"[:500])
                        continue
                    self.queries += 1
                    self.slowest = max(self.slowest, time.monotonic() - began)
                    if query == sql:
                        self.seen[label].append((began, answer))
                    time.sleep(THINK_SECONDS)
        finally:
            client.close()

    def read_since(self, moment: float, timeout: float = QUERY_TIMEOUT) -> None:
        """Wait until every client has a reading it asked for after `moment`."""
        deadline = time.monotonic() + timeout
        while any(not r or r[-1][0] <= moment for r in self.seen.values()):
            assert time.monotonic() < deadline, "a client stopped reading"
            time.sleep(0.1)

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=QUERY_TIMEOUT + 10)
        assert not any(t.is_alive() for t in self._threads), "a client hangs"


def per_tenant(sql: str, tenant: str) -> str:
    return sql.replace("WHERE ", f"WHERE tenant_id = '{tenant}' AND ")


def state(served: Served, tenants: list[str]) -> dict[str, dict[str, tuple]]:
    """What each checked query should read, asked as the admin: {label: reading}."""
    with served.client("admin") as admin:
        return {"raw": reading(admin, RAW_SQL), "analyst": reading(admin, ANALYST_SQL),
                "analyst-other": reading(admin, OTHER_SQL),
                **{t: reading(admin, per_tenant(TENANT_SQL, t)) for t in tenants}}


# --- kill -9 of serve in the middle of a load, then 8 BI clients during a reload ---------


def poll(served: Served, sql: str, until: Callable[[bytes], bool], timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = request(served, sql)[2]
        if until(body):
            return body
        time.sleep(0.02)
    raise AssertionError(f"never true: {sql}")


SCRATCH_SQL = ("SELECT name, metadata_modification_time FROM system.tables "
               "WHERE database = 'raw' AND startsWith(name, '_load_')")


def test_kill_9_mid_load_then_8_bi_clients_see_old_or_new_while_the_next_run_repairs(
    first_day_warehouse: Settings, tmp_path: Path,
) -> None:
    """Day 1 built (a copy of conftest.first_day_warehouse) and served; a corrected re-export
    of day 1 and a new day 2 arrive, and `serve` is killed with kill -9 while a run through it
    loads them. The next `serve`
    opens the warehouse, and the next run through it loads and builds both days while 8 BI
    clients (6 tenants, the analyst twice) and the admin counting raw ask in a loop: every
    query answers, and each day shows its old or its new version, never half; at the end raw
    equals the files."""
    built = copy_warehouse(first_day_warehouse, tmp_path)
    url, landing_dir = built.warehouse_url, Path(built.landing_url)
    tenants = tenant_ids(landing_dir)[:6]
    with serving(url, tmp_path / "serve1", tuple(tenants)) as served:
        old = state(served, tenants)
        assert set(old["raw"]) == set(old["analyst"]) == {DAYS[0]}
        reexport_fewer_events(landing_dir, DAY1)
        killed_run = start_run(served, landing_dir, tmp_path / "home1", DAY1, DAY2)
        try:  # a source's scratch table exists: rows are going in
            poll(served, SCRATCH_SQL, bool, 120)
        finally:
            served.process.kill()
            served.process.wait()
        killed_at = time.time()
    with serving(url, tmp_path / "serve2", tuple(tenants)) as served:  # it opens
        who = [(t, f"tenant_{t}", TENANT_SQL) for t in tenants]
        who += [("analyst", "analyst", ANALYST_SQL), ("analyst-other", "analyst", OTHER_SQL),
                ("raw", "admin", RAW_SQL)]
        with Clients(served, who) as clients:
            time.sleep(1)
            finished(start_run(served, landing_dir, tmp_path / "home2", DAY1, DAY2))
            ran_until = time.monotonic()
            clients.read_since(ran_until)  # the clients see the end state too
        new = state(served, tenants)
        status, scratch = request(served, SCRATCH_SQL, params={
            "default_format": "JSONEachRow", "date_time_output_format": "unix_timestamp"})[:3:2]
    # The killed run lost its warehouse: it failed (after its retries), it did not hang.
    _, err = killed_run.communicate(timeout=120)
    assert killed_run.returncode != 0, err[-2000:]
    # The next run repaired both days: raw equals the files, and it left no scratch table
    # of its own. (The killed load's may stay: through serve the loader sees a server, and
    # drops another load's scratch tables once they are 6 h old, ingest_loaders/scratch.py.)
    assert status == 200
    leftovers = [json.loads(line) for line in scratch.splitlines()]
    assert all(int(t["metadata_modification_time"]) <= killed_at for t in leftovers), leftovers
    for source in load_sources():
        assert raw_counts(url, source, [DAY1, DAY2]) == expected_counts(
            landing_dir, source, [DAY1, DAY2]), source
    assert new["raw"][DAYS[0]] != old["raw"][DAYS[0]]  # the re-export changed day 1
    assert new["analyst"][DAYS[0]] != old["analyst"][DAYS[0]]
    # Every query answered; every reading of a day is its old or its new version.
    assert clients.errors == [], clients.errors[:5]
    assert clients.slowest < QUERY_TIMEOUT
    # A request waiting for a worker thread is normal under this load, and not logged.
    log = served.stderr()
    assert len(log) < 2000, log[:2000]
    # A day read is its old or its new version (absent if it was); once new, never old.
    # A tenant's answer may also be wholly empty for a moment: dbt replaces a bi view, then
    # its post-hook sets the view's `tenant_scope` comment, and a view without one is
    # readable by no tenant (serving/access/model.py), so a request in between gets no rows
    # (fail-closed, never another tenant's or half a day's rows).
    changed, blank = set(), 0
    for label, readings in clients.seen.items():
        assert len(readings) >= 5, (label, len(readings))
        assert readings[-1][0] > ran_until and readings[-1][1] == new[label], label
        if label == "analyst-other":
            continue
        blank += sum(1 for _, r in readings if r == {} != new[label])
        assert label in tenants or all(r for _, r in readings), label  # the analyst: never
        for day in DAYS:
            versions = [r.get(day) for _, r in readings if r]
            allowed = {old[label].get(day), new[label].get(day)}  # None: absent before
            assert set(versions) <= allowed, (label, day, set(versions) - allowed, allowed)
            seen_new = [i for i, v in enumerate(versions) if v == new[label].get(day)]
            if seen_new and old[label].get(day) != new[label].get(day):
                assert old[label].get(day) not in versions[seen_new[0]:], (label, day, versions)
            if versions and versions[0] != versions[-1]:
                changed.add((label, day))
    assert len(changed) >= len(tenants), changed  # the clients did watch the days change
    print(f"{blank} wholly empty tenant answers while bi views were replaced")


# --- a view replaced while tenants read it ----------------------------------------------

REPLACE_KPI = ("CREATE OR REPLACE VIEW bi.kpi DEFINER = bi_definer SQL SECURITY DEFINER AS "
               "SELECT tenant_id, day, sum(v) AS v FROM analytics.fct GROUP BY tenant_id, day")


def test_a_view_replaced_as_dbt_does_never_shows_a_tenant_another_tenants_rows(
    tmp_path: Path,
) -> None:
    """dbt replaces a bi view (CREATE OR REPLACE VIEW: a new view exchanged in), then sets
    its tenant_scope comment. A tenant query that resolved the old view as it was exchanged
    away read it without its filter (every tenant's rows, about 1 in 60 replacements here);
    serve now runs such a query again."""
    url = build_toy_warehouse(tmp_path / "warehouse")
    seen: dict[str, int] = {"others": 0, "own": 0, "empty": 0, "error": 0}
    stop = threading.Event()

    def tenant(served: Served) -> None:
        while not stop.is_set():
            status, _, body = request(served, "SELECT DISTINCT tenant_id FROM bi.kpi",
                                      user="tenant_tnt_a")
            ids = set(body.split()) if status == 200 else None
            seen["error" if ids is None else "others" if ids - {b"tnt_a"} else
                 "own" if ids else "empty"] += 1

    with serving(url, tmp_path, TOY_TENANTS) as served:
        readers = [threading.Thread(target=tenant, args=(served,)) for _ in range(4)]
        for thread in readers:
            thread.start()
        try:
            replaced = 0  # at least 40 replacements, and until 40 answers were read
            while replaced < 40 or (seen["own"] < 40 and replaced < 400):
                replaced += 1
                assert request(served, REPLACE_KPI)[0] == 200
                assert request(served, "ALTER TABLE bi.kpi MODIFY COMMENT "
                               "'tenant_scope: tenant_id'")[0] == 200
                time.sleep(0.1)
        finally:
            stop.set()
            for thread in readers:
                thread.join(timeout=60)
    assert seen["others"] == 0, seen
    assert seen["own"] >= 40 and seen["error"] <= seen["own"] // 10, seen


# --- SIGTERM while queries run ---------------------------------------------------------


def test_sigterm_while_queries_run_finishes_or_cancels_them_and_closes_the_engine(
    tmp_path: Path,
) -> None:
    """12 slow queries at once (8 run on the worker threads, 4 wait): at SIGTERM the running
    ones finish with their whole answer, the waiting ones are dropped; serve exits 0."""
    url = build_toy_warehouse(tmp_path / "warehouse")
    answers: list[tuple[str, Any]] = []

    def slow(served: Served, user: str, i: int) -> None:
        try:
            answer = request(served, f"SELECT sleep(2), {i}", user=user)[::2]
            answers.append(("answered", answer))
        except (OSError, http.client.HTTPException) as e:
            answers.append(("dropped", type(e).__name__))

    with serving(url, tmp_path, TOY_TENANTS) as served:
        users = ["analyst", "admin"] * 6
        threads = [threading.Thread(target=slow, args=(served, u, i)) for i, u in
                   enumerate(users)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        served.process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=40)
        assert not any(t.is_alive() for t in threads)
        assert served.process.wait(timeout=40) == 0
        log = served.stderr()
        assert "stopping (SIGTERM)" in log and "Traceback" not in log, log[-3000:]
    answered = [a for kind, a in answers if kind == "answered"]
    # The 8 running on the worker threads finished; the 4 waiting were dropped unanswered.
    assert len(answered) == 8 and len(answers) == 12, answers
    for status, body in answered:  # a whole answer, or none
        assert status == 200 and body.startswith(b"0\t") and body.endswith(b"\n"), (status, body)
    assert not serve_file(tmp_path / "warehouse").exists()
    with serving(url, tmp_path / "again", TOY_TENANTS) as served:  # the engine was closed
        assert request(served, "SELECT count() FROM bi.kpi", user="analyst")[::2] == (
            200, b"15\n")
    # SIGTERM as its client's connection closes: still a clean stop (it was lost, and serve ran
    # on until the fixture's SIGKILL 40 s later).
    assert served.process.returncode == 0, served.stderr()[-2000:]


# --- clients that stall ------------------------------------------------------------------


def test_stalled_clients_do_not_stop_others_from_being_answered(tmp_path: Path) -> None:
    """More stalled connections than worker threads, half a request each (headers cut off,
    or a body shorter than its Content-Length), then 8 clients at once are answered."""
    url = build_toy_warehouse(tmp_path / "warehouse")
    with serving(url, tmp_path, TOY_TENANTS) as served:
        stalled = []
        for i in range(20):
            connection = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            connection.sendall(
                b"GET /?query=SELECT+1 HTTP/1.1\r\nHost: x\r\nX-Half: " if i % 2 else
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nSELECT ")
            stalled.append(connection)
        try:
            answers: list[tuple[int, bytes]] = []
            began = time.monotonic()
            users = ["tenant_tnt_a", "tenant_tnt_b", "tenant_tnt_c", "analyst"] * 2
            threads = [threading.Thread(target=lambda u=u: answers.append(
                request(served, "SELECT count() FROM kpi", user=u,
                        params={"database": "bi"})[::2])) for u in users]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            seconds = time.monotonic() - began
            assert sorted(answers) == sorted([(200, b"5\n")] * 6 + [(200, b"15\n")] * 2)
            assert seconds < 10, seconds
            # The stalled ones are still waiting (kept until channel_timeout), not answered.
            for connection in stalled:
                connection.setblocking(False)
                with pytest.raises(BlockingIOError):
                    connection.recv(1)
        finally:
            for connection in stalled:
                connection.close()
        assert request(served, "SELECT 1")[::2] == (200, b"1\n")
