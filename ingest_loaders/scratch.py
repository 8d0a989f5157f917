"""The scratch tables of one partition load: a staging copy of the raw table and of the
rejects, filled by the load and swapped in whole, or dropped."""

from __future__ import annotations

import datetime as dt
import logging

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from ingest_loaders.errors import MESSAGE_LIMIT
from ingest_loaders.tables import REJECTS_KEYS, REJECTS_TABLE, export_columns, raw_keys
from saas_warehouse.cluster import SINGLE_SERVER, Cluster
from saas_warehouse.sources import Source
from saas_warehouse.warehouse import clickhouse_message, is_embedded

log = logging.getLogger(__name__)

# On a server, scratch tables older than this are from a load that died (no load takes 6 h).
STALE_SCRATCH_SECONDS = 6 * 3600


class ScratchTables:
    def __init__(self, client: Client, source: Source, day: dt.date, load_id: str,
                 cluster: Cluster = SINGLE_SERVER) -> None:
        self.client = client
        self.cluster = cluster
        self.prefix = f"_load_{source.name}_{day:%Y%m%d}_"
        self.stage = f"raw.{self.prefix}{load_id}_stage"
        self.rejects = f"raw.{self.prefix}{load_id}_rejects"
        # made and dropped by deliveries.mark_repeats (a killed load's: by _drop_stale)
        self.repeats = f"raw.{self.prefix}{load_id}_repeats"
        self.source = source

    def create(self) -> None:
        self._drop_stale()
        for sql in self.create_statements():
            self.client.command(sql)

    def create_statements(self) -> list[str]:
        """The stage and the rejects' stage, copies of the raw table and of the rejects; on a
        cluster node-local MergeTree with their keys, not replicas: the swap then copies parts
        this node holds (saas_warehouse/cluster.py)."""
        copies = [(self.stage, self.source.table, raw_keys(self.source)),
                  (self.rejects, REJECTS_TABLE, REJECTS_KEYS)]
        engine = "\nENGINE = MergeTree\n{}" if self.cluster else ""
        return [f"CREATE TABLE {table} AS {like}" + engine.format(keys)
                for table, like, keys in copies]

    def align_to_raw(self) -> None:
        """Give the stage the columns another day's load added to the raw table after the
        stage was made (NULL here): REPLACE PARTITION needs both tables alike."""
        staged = export_columns(self.client, self.stage)
        for name, ch_type in export_columns(self.client, self.source.table).items():
            if name not in staged:
                self.client.command(f"ALTER TABLE {self.stage} ADD COLUMN `{name}` {ch_type}")

    def drop(self) -> None:
        for table in (self.stage, self.rejects):
            try:
                self.client.command(f"DROP TABLE IF EXISTS {table} SYNC")
            except ClickHouseError as e:  # harmless: named by its load, dropped by the next one
                log.warning("could not drop scratch table %s: %s", table,
                            clickhouse_message(e, MESSAGE_LIMIT))

    def _drop_stale(self) -> None:
        """Scratch tables of this (source, day) left by a load that was killed (kill -9, OOM).

        The embedded engine is open in one process at a time, so any such table is stale; on
        a server another load of the same day may be running, so only old ones are dropped.
        """
        min_age = 0 if is_embedded(self.client) else STALE_SCRATCH_SECONDS
        stale = self.client.query(
            "SELECT name FROM system.tables WHERE database = 'raw' "
            "AND startsWith(name, {prefix:String}) "
            "AND metadata_modification_time <= now() - {min_age:UInt32}",
            parameters={"prefix": self.prefix, "min_age": min_age},
        ).result_rows
        for (name,) in stale:
            log.info("dropping scratch table raw.%s of a load that did not finish", name)
            self.client.command(f"DROP TABLE IF EXISTS raw.`{name}` SYNC")
