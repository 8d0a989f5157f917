"""Several days of one source loaded side by side (`load_days`), on a real chDB warehouse:
each day stays all-or-nothing, results come back in day order, and a bad day stops the rest
with the error that names its file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from support import small_exports as sx

from ingest_loaders.errors import TerminalLoadError
from ingest_loaders.landing import landing_from_url
from ingest_loaders.load_days import LOAD_WORKERS, load_days
from saas_warehouse.sources import load_sources
from saas_warehouse.warehouse import ensure_databases, open_warehouse

DAYS = [dt.date(2026, 6, 1) + dt.timedelta(days=i) for i in range(6)]
ROWS = {day: 40 + 7 * i for i, day in enumerate(DAYS)}  # a different count per day


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[list]:
    url = f"chdb://{tmp_path / 'wh'}"
    with ExitStack() as stack:
        opened = [stack.enter_context(open_warehouse(url)) for _ in range(LOAD_WORKERS)]
        ensure_databases(opened[0])
        yield opened


def _counts(client, source: str) -> dict[dt.date, int]:
    rows = client.query(
        f"SELECT _partition_date, count() FROM raw.{source} GROUP BY _partition_date"
    ).result_rows
    return {day: int(n) for day, n in rows}


def test_days_load_side_by_side_in_day_order(clients: list, tmp_path: Path) -> None:
    root = tmp_path / "landing"
    for day in DAYS:
        files = sx.valid_files("api_requests", day, ROWS[day])
        sx.write_partition(root, "api_requests", day, files)
    landing = landing_from_url(str(root))
    seen: list[dt.date] = []

    results = load_days(
        clients, landing, load_sources()["api_requests"], DAYS,
        on_loaded=lambda r: seen.append(r.day),
    )

    assert [r.day for r in results] == DAYS
    assert [r.rows_loaded for r in results] == [ROWS[d] for d in DAYS]
    assert sorted(seen) == DAYS  # every day reported once, in whatever order it finished
    assert _counts(clients[0], "api_requests") == ROWS
    # A second pass finds every day unchanged and loads nothing again.
    again = load_days(clients, landing, load_sources()["api_requests"], DAYS)
    assert {r.status for r in again} == {"unchanged"}


def test_a_bad_day_fails_naming_its_file_and_leaves_no_half_day(
    clients: list, tmp_path: Path
) -> None:
    root = tmp_path / "landing"
    bad = DAYS[1]
    for day in DAYS:
        files = sx.valid_files("product_events", day, ROWS[day])
        if day == bad:
            files = {"broken.parquet": b"not a parquet file"}
        sx.write_partition(root, "product_events", day, files)

    with pytest.raises(TerminalLoadError) as failure:
        load_days(clients, landing_from_url(str(root)), load_sources()["product_events"], DAYS)

    assert failure.value.file == f"product_events/dt={bad.isoformat()}/broken.parquet"
    loaded = _counts(clients[0], "product_events")
    assert bad not in loaded
    # Days that ran are complete; no day is half loaded; later days were not all started.
    assert all(loaded[day] == ROWS[day] for day in loaded)
    assert len(loaded) < len(DAYS) - 1
    scratch = clients[0].query(
        "SELECT count() FROM system.tables WHERE database = 'raw' AND name LIKE '\\_load\\_%'"
    ).result_rows
    assert scratch == [(0,)]
