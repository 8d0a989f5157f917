"""Retention (docs/contract.md §3): a source declaring `retention_days` keeps in raw its newest
loaded day and that many days before it; the raw load drops older days with their rejects,
never the run's own days; the ledger keeps their rows; a backfill of a dropped day loads it
again. Snapshot sources cannot declare it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest
from support.landing_frames import expected_counts
from support.samples import SAMPLE_START
from support.warehouse_reads import query

from ingest_loaders.landing import landing_from_url
from ingest_loaders.load import load_partition
from orchestration.raw.assets import raw_asset
from orchestration.resources import build_resources
from saas_warehouse.settings import REPO_ROOT, Settings
from saas_warehouse.sources import DeclarationError, load_sources, read_declaration
from saas_warehouse.warehouse import ensure_databases, open_warehouse

DAY1, DAY2, DAY3 = (SAMPLE_START + dt.timedelta(days=n) for n in range(3))


@pytest.mark.parametrize(("source", "value", "says"), [
    ("tenants", 30, "retention_days is for sources with a day_column"),
    ("product_events", 0, "at least 1"),
    ("product_events", "30", "a whole number of days"),
    ("product_events", True, "a whole number of days"),
])
def test_a_retention_that_cannot_hold_is_refused_naming_the_file(
    tmp_path: Path, source: str, value: object, says: str
) -> None:
    path = tmp_path / f"{source}.yml"
    shutil.copy(REPO_ROOT / "sources" / f"{source}.yml", path)
    with path.open("a") as declaration:
        declaration.write(f"retention_days: {value!r}\n".replace("'", '"'))
    with pytest.raises(DeclarationError, match=f"{path}.*{says}"):
        read_declaration(path)


def raw_state(url: str) -> dict[str, list]:
    return {
        "raw": [d for (d,) in query(url, "SELECT DISTINCT _partition_date FROM "
                                    "raw.product_events ORDER BY 1")],
        "rejects": [d for (d,) in query(url, "SELECT DISTINCT partition_date FROM raw.rejects "
                                        "WHERE source = 'product_events' ORDER BY 1")],
        "ledger": [d for (d,) in query(url, "SELECT DISTINCT partition_date FROM "
                                       "raw.load_ledger WHERE source = 'product_events' "
                                       "ORDER BY 1")],
    }


@pytest.mark.slow  # three Dagster materializations
def test_the_raw_load_drops_days_past_retention_and_a_backfill_loads_them_again(
    settings: Settings, landing_dir: Path, instance: dg.DagsterInstance
) -> None:
    # product_events keeping the newest day and the one before it.
    events = dataclasses.replace(load_sources()["product_events"], retention_days=1)
    url = settings.warehouse_url
    with open_warehouse(url) as client:
        ensure_databases(client)
        for day in (DAY1, DAY2):
            load_partition(client, landing_from_url(str(landing_dir)), events, day)
        # A rejected row on each day (the loader's own rejects are tested elsewhere).
        for day in (DAY1, DAY2):
            client.command("INSERT INTO raw.rejects (source, partition_date, file, row_number, "
                           f"reason) VALUES ('product_events', '{day}', 'f', 1, 'bad')")

    def materialize(day: dt.date) -> dg.MaterializeResult:
        result = dg.materialize([raw_asset(events)], partition_key=day.isoformat(),
                                resources=build_resources(settings), instance=instance)
        assert result.success
        [materialization] = result.asset_materializations_for_node(
            result.all_node_events[0].node_name)
        return materialization

    loaded = materialize(DAY3)
    assert raw_state(url) == {"raw": [DAY2, DAY3], "rejects": [DAY2],
                              "ledger": [DAY1, DAY2, DAY3]}
    assert loaded.metadata["days_dropped_by_retention"].value == 1
    # The days kept are whole.
    with open_warehouse(url) as client:
        for day in (DAY2, DAY3):
            rows = client.query("SELECT count() FROM raw.product_events "
                                "WHERE _partition_date = {d:Date}", parameters={"d": day})
            assert rows.result_rows[0][0] == expected_counts(landing_dir, "product_events",
                                                             [day])[0]

    # A backfill of day 1 loads it again (the ledger alone would call it unchanged), and keeps
    # it for the run that builds from it; the next run of a newer day drops it again.
    backfill = materialize(DAY1)
    assert raw_state(url)["raw"] == [DAY1, DAY2, DAY3]
    assert backfill.metadata["days_dropped_by_retention"].value == 0
    materialize(DAY3)
    assert raw_state(url)["raw"] == [DAY2, DAY3]
