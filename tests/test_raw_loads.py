"""Loading exports into `raw` through real Dagster runs on the embedded engine."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import dagster as dg
import pytest
from support.landing_frames import expected_counts, partition_files
from support.samples import SAMPLE_DAYS, SAMPLE_START
from support.warehouse_reads import query, raw_counts, table_fingerprint

from orchestration.runner import RunFailed, run_range
from saas_warehouse.settings import Settings
from saas_warehouse.sources import load_sources

# real Dagster runs of the loaders: in `make test`, not in the inner loop (`make test-fast`).
pytestmark = pytest.mark.slow

DAYS = [SAMPLE_START + dt.timedelta(days=i) for i in range(SAMPLE_DAYS)]
END = DAYS[-1]
RAW_ONLY = dg.AssetSelection.groups("raw")
VOLATILE = ("_load_id", "_loaded_at")


def load(settings: Settings, instance: dg.DagsterInstance, *sources: str):
    """A raw-only run over the sample days: of `sources`, or of every source."""
    return run_range(settings, SAMPLE_START, END, instance=instance,
                     selection=raw_of(*sources) if sources else RAW_ONLY)


def raw_of(*sources: str) -> dg.AssetSelection:
    return dg.AssetSelection.assets(*(["raw", s] for s in sources))


def partition_row_counts(
    instance: dg.DagsterInstance, source: str, key: str = "dagster/row_count"
) -> dict[dt.date, int]:
    """Each materialized (source, day) partition → its latest metadata value `key`."""
    records = instance.fetch_materializations(dg.AssetKey(["raw", source]), limit=1000).records
    counts: dict[dt.date, int] = {}
    for record in reversed(records):  # oldest first: the latest per partition wins
        event = record.asset_materialization
        assert event is not None and event.partition is not None
        counts[dt.date.fromisoformat(event.partition)] = event.metadata[key].value
    return counts


def file_row_counts(root: Path, source: str, days: list[dt.date]) -> dict[dt.date, int]:
    return {day: expected_counts(root, source, [day])[0] for day in days}


def assert_raw_matches_files(settings: Settings, root: Path, days: list[dt.date]) -> None:
    for source in load_sources():
        assert raw_counts(settings.warehouse_url, source, days) == expected_counts(
            root, source, days
        ), source


def test_progress_is_a_line_per_step_not_the_log(
    settings: Settings, landing_dir: Path, instance
) -> None:
    out = io.StringIO()  # not a terminal: one line per finished step
    sources = ("product_events", "users")
    run_range(settings, SAMPLE_START, END, instance=instance, selection=raw_of(*sources),
              progress=out)
    lines = out.getvalue().splitlines()
    assert sorted(line.split("[")[0].split()[1] for line in lines) == sorted(sources), lines
    for line in lines:
        assert f"] {SAMPLE_DAYS}/{SAMPLE_DAYS} days" in line and "FAILED" not in line, line
        assert "#" * 24 in line  # a full bar


def test_local_load_matches_the_files(settings: Settings, landing_dir: Path, instance) -> None:
    summary = load(settings, instance)
    assert summary.materializations == len(load_sources()) * SAMPLE_DAYS  # one per (source, day)
    assert summary.checks_failed == 0
    assert_raw_matches_files(settings, landing_dir, DAYS)
    for source in load_sources():  # each day's materialization carries that day's rows
        assert partition_row_counts(instance, source) == file_row_counts(
            landing_dir, source, DAYS
        ), source
    for source in ("product_events", "api_requests"):  # and its repeated deliveries
        repeats = {day: rows - distinct for day in DAYS
                   for rows, distinct in [expected_counts(landing_dir, source, [day])]}
        assert sum(repeats.values()) > 0  # the sample exports repeat some ids
        assert partition_row_counts(instance, source, "rows_repeated") == repeats, source
    # Generated data is valid: nothing rejected, and the ledger accounts for every row.
    assert query(settings.warehouse_url, "SELECT count() FROM raw.rejects") == [(0,)]
    ledger = query(
        settings.warehouse_url,
        "SELECT source, sum(rows_read), sum(rows_loaded) FROM raw.load_ledger GROUP BY source",
    )
    for source, read, loaded in ledger:
        assert read == loaded == expected_counts(landing_dir, source, DAYS)[0]


def test_rerun_changes_nothing(settings: Settings, instance) -> None:
    sources = ("product_events", "billing_line_items")  # a Parquet and a CSV source
    load(settings, instance, *sources)
    before = {
        t: table_fingerprint(settings.warehouse_url, t)
        for t in ["raw.product_events", "raw.billing_line_items", "raw.load_ledger"]
    }
    load(settings, instance, *sources)
    after = {t: table_fingerprint(settings.warehouse_url, t) for t in before}
    assert after == before


def test_redelivered_file_is_not_double_counted(
    settings: Settings, landing_dir: Path, instance
) -> None:
    load(settings, instance, "product_events")
    day = DAYS[1]
    before = table_fingerprint(settings.warehouse_url, "raw.product_events", VOLATILE)
    original = partition_files(landing_dir, "product_events", day)[0]
    shutil.copyfile(original, original.with_name("redelivered-" + original.name))
    (original.parent / "_SUCCESS").touch()
    load(settings, instance, "product_events")
    assert table_fingerprint(settings.warehouse_url, "raw.product_events", VOLATILE) == before
    statuses = query(
        settings.warehouse_url,
        "SELECT status, count() FROM raw.load_ledger WHERE source = 'product_events' "
        "AND partition_date = {day:Date} AND file LIKE '%redelivered-%' GROUP BY status",
        day=day,
    )
    assert statuses == [("duplicate_file", 1)]


def test_corrected_reexport_replaces_its_day(
    settings: Settings, landing_dir: Path, instance
) -> None:
    load(settings, instance, "api_requests")
    day, other = DAYS[0], DAYS[2]
    other_before = raw_counts(settings.warehouse_url, "api_requests", [other])
    files = partition_files(landing_dir, "api_requests", day)
    import pyarrow.parquet as pq

    table = pq.read_table(files[0])
    for f in files:
        f.unlink()
    pq.write_table(table.slice(0, table.num_rows // 2), files[0].with_name("corrected.parquet"))
    (files[0].parent / "_SUCCESS").touch()
    load(settings, instance, "api_requests")
    assert raw_counts(settings.warehouse_url, "api_requests", [day]) == expected_counts(
        landing_dir, "api_requests", [day]
    )
    assert raw_counts(settings.warehouse_url, "api_requests", [other]) == other_before
    files_in_raw = query(
        settings.warehouse_url,
        "SELECT DISTINCT _source_file FROM raw.api_requests WHERE _partition_date = {day:Date}",
        day=day,
    )
    assert files_in_raw == [(f"api_requests/dt={day.isoformat()}/corrected.parquet",)]


def test_day_without_success_marker_is_not_loaded(
    settings: Settings, landing_dir: Path, instance
) -> None:
    (landing_dir / "users" / f"dt={END.isoformat()}" / "_SUCCESS").unlink()
    stopped = (
        rf"users: no _SUCCESS marker for {END}: not loaded, left unmaterialized .*"
        rf"The models were not built for {SAMPLE_START}…{END}"
    )
    with pytest.raises(RunFailed, match=stopped):
        load(settings, instance, "users", "tenants")
    assert raw_counts(settings.warehouse_url, "users", [END]) == (0, 0)
    assert raw_counts(settings.warehouse_url, "users", DAYS[:-1]) == expected_counts(
        landing_dir, "users", DAYS[:-1]
    )
    # Dagster shows each day's truth: the loaded days, each with its own rows, and not the
    # day without its marker; the other source's days are all there.
    assert partition_row_counts(instance, "users") == file_row_counts(
        landing_dir, "users", DAYS[:-1]
    )
    assert set(partition_row_counts(instance, "tenants")) == set(DAYS)
    # A run for only that day fails and says why.
    with pytest.raises(RunFailed, match=r"users: no _SUCCESS marker for " + END.isoformat()):
        run_range(settings, END, END, instance=instance, selection=raw_of("users"))


def test_bad_rows_go_to_rejects_with_reason(
    settings: Settings, landing_dir: Path, instance
) -> None:
    day = DAYS[0]
    csv_file = partition_files(landing_dir, "billing_line_items", day)[0]
    lines = csv_file.read_text().splitlines()
    fields = lines[1].split(",")
    fields[5] = "abc"  # quantity
    lines[1] = ",".join(fields)
    csv_file.write_text("\n".join(lines) + "\n")
    load(settings, instance, "billing_line_items")
    rejects = query(
        settings.warehouse_url,
        "SELECT file, row_number, reason FROM raw.rejects WHERE source = 'billing_line_items'",
    )
    assert rejects == [(
        f"billing_line_items/dt={day.isoformat()}/{csv_file.name}", 1,
        "quantity is not a valid decimal number: abc",
    )]
    rows_in_file = len(lines) - 1
    assert raw_counts(settings.warehouse_url, "billing_line_items", [day])[0] == rows_in_file - 1
