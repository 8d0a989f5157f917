"""A failed blocking (ERROR) quality check stops the dbt models of the day in a real Dagster
run, and every check's result is recorded with its metadata."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.landing_frames import partition_files
from support.samples import SAMPLE_START
from support.warehouse_reads import query

from ingest_loaders.quality import CHECKS
from orchestration.runner import RunFailed, run_range
from saas_warehouse.settings import Settings
from saas_warehouse.sources import load_sources

# real Dagster runs, loaders and dbt: in `make test`, not in the inner loop (`make test-fast`).
pytestmark = pytest.mark.slow


def test_blocking_check_skips_dbt_for_the_day(
    settings: Settings, landing_dir: Path, instance: dg.DagsterInstance
) -> None:
    day = SAMPLE_START
    path = partition_files(landing_dir, "api_requests", day)[0]
    table = pq.read_table(path)
    codes = table.column("status_code").to_pylist()
    codes[:50] = [999] * 50
    i = table.column_names.index("status_code")
    pq.write_table(table.set_column(i, "status_code", pa.array(codes, pa.int32())), path)

    failed_check = (
        f"raw/api_requests: blocking check valid_values failed on {day}. "
        f"The models were not built for {day}"
    )
    with pytest.raises(RunFailed, match=failed_check):
        run_range(settings, day, day, instance=instance)  # raw and dbt

    run = instance.get_runs(limit=1)[0]
    events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event]
    materialized = {e.asset_key.path[0] for e in events if e.event_type_value ==
                    "ASSET_MATERIALIZATION"}
    assert materialized == {"raw"}  # every raw source loaded, nothing downstream built
    checks = {
        (e.event_specific_data.asset_key.path[-1], e.event_specific_data.check_name):
        e.event_specific_data for e in events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    failed = {k for k, c in checks.items() if not c.passed}
    assert failed == {("api_requests", "valid_values")}
    assert len(checks) == len(load_sources()) * (len(CHECKS) + 1)  # + partitions_complete
    result = checks[("api_requests", "valid_values")]
    assert "999" in result.metadata["days"].value  # the bad values, shown as metadata
    assert result.metadata["failed_days"].value == day.isoformat()
    assert query(settings.warehouse_url,
                 "SELECT count() FROM system.tables WHERE database IN ('staging', 'analytics')"
                 ) == [(0,)]
