"""Load several days of one source, a few days at a time.

One load keeps about one core busy: reading one Parquet file is mostly one ClickHouse
thread, and a small partition is a chain of short statements that wait on each other. Two
days loaded side by side, each on its own client, keep two cores busy (the embedded engine
takes many clients in one process; a server takes many connections). Each day is still its
own all-or-nothing load (`load_partition`).
"""

from __future__ import annotations

import datetime as dt
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from clickhouse_connect.driver.client import Client

from ingest_loaders.landing import Landing
from ingest_loaders.load import load_partition
from ingest_loaders.results import LoadResult
from ingest_loaders.tables import ensure_raw_tables
from saas_warehouse.cluster import SINGLE_SERVER, Cluster
from saas_warehouse.sources import Source

# Days loaded at once; more clients than cores only adds contention on the embedded engine.
LOAD_WORKERS = 2


def load_days(
    clients: Sequence[Client],
    landing: Landing,
    source: Source,
    days: Sequence[dt.date],
    *,
    on_loaded: Callable[[LoadResult], None] | None = None,
    cluster: Cluster = SINGLE_SERVER,
) -> list[LoadResult]:
    """Load `days` of `source` with one worker per client; results in day order.

    After the first failure no further day is started; the days already loaded stay loaded
    (as they would have, one after another) and the earliest failing day's error is raised.
    """
    if not clients:
        raise ValueError("load_days needs at least one client")
    # Before the workers start: on a new warehouse two of them would create the tables at once.
    ensure_raw_tables(clients[0], cluster)
    free: queue.SimpleQueue[Client] = queue.SimpleQueue()
    for client in clients:
        free.put(client)

    def load(day: dt.date) -> LoadResult:
        client = free.get()
        try:
            result = load_partition(client, landing, source, day, tables_ensured=True,
                                    cluster=cluster)
        finally:
            free.put(client)
        if on_loaded:
            on_loaded(result)
        return result

    with ThreadPoolExecutor(len(clients), thread_name_prefix=f"load-{source.name}") as pool:
        futures = [pool.submit(load, day) for day in days]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:  # after a failure: the days not started yet are not started
            future.cancel()
    # Days start in order, so a failed day comes before every cancelled one: result() raises
    # the earliest failing day's error.
    return [future.result() for future in futures]
