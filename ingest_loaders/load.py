"""Load one (source, day) partition into `raw`, all or nothing.

1. Check each file's columns (CSV header / Parquet schema) against the source's declaration
   and the raw table; under `evolve` a new column is added to raw (and recorded in
   `raw.schema_changes`) before anything is staged, so the staging copy has its columns.
2. ClickHouse reads each file once, checking every row against the contract, and inserts the
   good rows into a staging copy of the raw table. Only when a file has rows that were not
   loaded (its rows counted without parsing them: a Parquet footer, ClickHouse's CSV row
   counter) is it read a second time for the bad rows, which go to a staging copy of
   rejects with their reason.
3. Every row read is accounted for (read = loaded + rejected) or the load fails.
   Repeated deliveries of an id are marked in the stage (`deliveries.py`): raw keeps every
   copy, staging reads the first.
4. The day is swapped in with `ALTER TABLE … REPLACE PARTITION`: readers see the old day
   or the new day, never half of one. A failure before the swap leaves the old day intact.
5. Every file is recorded in `raw.load_ledger`.
A partition whose files are unchanged since its last successful load is not reloaded.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from ingest_loaders import ledger
from ingest_loaders.deliveries import mark_repeats
from ingest_loaders.errors import MESSAGE_LIMIT, LoadError, TerminalLoadError, classify
from ingest_loaders.landing import Landing, LandingFile, Partition
from ingest_loaders.read_sql import (
    READ_SETTINGS,
    read_structure,
    rejects_insert_sql,
    stage_insert_sql,
    validated_select_sql,
)
from ingest_loaders.results import DayStatus, FileResult, FileStatus, LoadResult
from ingest_loaders.retention import dropped_by_retention
from ingest_loaders.schema_check import FileLayout, SchemaChange, evolve_raw_table
from ingest_loaders.scratch import ScratchTables
from ingest_loaders.tables import REJECTS_TABLE, ensure_raw_tables
from saas_warehouse.cluster import SINGLE_SERVER, Cluster
from saas_warehouse.sources import FileFormat, Source
from saas_warehouse.warehouse import clickhouse_message

log = logging.getLogger(__name__)

SWAP_SETTINGS = {"allow_replace_partition_from_empty_source": 1}
COUNT_SETTINGS = {"optimize_count_from_files": 1, "use_cache_for_count_from_files": 0}
# Failures outside our code: the store, the file system, the warehouse. Anything else is a
# bug and reaches the user as one (with its traceback), never as "fix the files".
EXTERNAL_ERRORS = (OSError, BotoCoreError, ClientError, ClickHouseError)


def load_partition(
    client: Client, landing: Landing, source: Source, day: dt.date, *, force: bool = False,
    tables_ensured: bool = False, cluster: Cluster = SINGLE_SERVER,
) -> LoadResult:
    """Load a complete partition; `force` reloads it even if its files are unchanged.
    `tables_ensured`: the caller ran `ensure_raw_tables` on this warehouse already."""
    started = time.perf_counter()
    try:
        partition = landing.partition(source.name, day)
    except EXTERNAL_ERRORS as e:  # classified, cause kept
        raise classify(e, source=source.name, day=day, file=None, what="listing failed") from e
    if partition is None:
        return LoadResult(source.name, day, DayStatus.INCOMPLETE,
                          seconds=time.perf_counter() - started)
    if not tables_ensured:
        ensure_raw_tables(client, cluster)
    current = {(f.key, f.fingerprint) for f in partition.files}
    if (not force and ledger.last_loaded_files(client, source.name, day) == current
            and not dropped_by_retention(client, source, day, current)):
        return LoadResult(
            source.name, day, DayStatus.UNCHANGED, ignored_files=partition.ignored,
            seconds=time.perf_counter() - started,
        )
    result = _PartitionLoad(client, landing, source, partition, cluster).run()
    result.seconds = time.perf_counter() - started
    return result


class _PartitionLoad:
    def __init__(self, client: Client, landing: Landing, source: Source, part: Partition,
                 cluster: Cluster) -> None:
        self.client, self.cluster = client, cluster
        self.landing = landing
        self.source = source
        self.part = part
        self.load_id = uuid.uuid4().hex[:16]
        self.scratch = ScratchTables(client, source, part.day, self.load_id, cluster)
        self.loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.fmt = source.file_format

    def run(self) -> LoadResult:
        day, name = self.part.day, self.source.name
        entries: list[ledger.LedgerEntry] = []
        try:
            loaded, duplicates = self._distinct_files()
            layouts = self._evolve_schema(loaded)
            self.scratch.create()
            counts, reasons = self._load_rows(loaded, layouts)
            repeated = mark_repeats(self.client, self.source, self.scratch.stage,
                                    self.scratch.repeats)
            entries = [
                ledger.LedgerEntry(FileStatus.LOADED, f.key, f.fingerprint, f.size,
                                   *counts.get(f.key, (0, 0, 0)))
                for f in loaded
            ] + duplicates
            self._swap()
            self._record_schema_changes(
                [c for layout in layouts.values() for c in layout.changes if c.action != "added"]
            )
            if not self.part.files:
                entries.append(ledger.LedgerEntry(FileStatus.EMPTY_PARTITION))
            ledger.record(self.client, load_id=self.load_id, partition=self.part,
                          entries=entries, loaded_at=self.loaded_at)
        except LoadError as e:
            self._record_failure(e)
            raise
        except ClickHouseError as e:  # reading a file raises LoadError naming it
            error = classify(e, source=name, day=day, file=None, what="ClickHouse refused the load")
            self._record_failure(error)
            raise error from e
        finally:
            self.scratch.drop()
        files = [
            FileResult(e.file, e.size_bytes, e.rows_read, e.rows_loaded, e.rows_rejected, e.status)
            for e in entries
            if e.file
        ]
        return LoadResult(
            name, day, DayStatus.LOADED, self.load_id, files, self.part.ignored, reasons,
            rows_repeated=repeated,
        )

    def _distinct_files(self) -> tuple[list[LandingFile], list[ledger.LedgerEntry]]:
        """The files to read, and ledger entries for same content delivered under two names."""
        first_by_content: dict[str, str] = {}
        loaded: list[LandingFile] = []
        duplicates: list[ledger.LedgerEntry] = []
        for f in self.part.files:
            if f.fingerprint in first_by_content:
                duplicates.append(ledger.LedgerEntry(
                    FileStatus.DUPLICATE_FILE, f.key, f.fingerprint, f.size,
                    message=f"identical to {first_by_content[f.fingerprint]}",
                ))
            else:
                first_by_content[f.fingerprint] = f.key
                loaded.append(f)
        return loaded, duplicates

    def _evolve_schema(self, files: list[LandingFile]) -> dict[str, FileLayout]:
        """Each file's layout; `self.source` becomes the raw table's columns (the declared
        ones, then those `evolve` added, now or earlier)."""
        layouts, self.source = evolve_raw_table(
            self.client, self.landing, self.source, self.part.day, files, self.fmt,
            record=self._record_schema_changes, cluster=self.cluster,
        )
        return layouts

    def _record_schema_changes(self, changes: list[SchemaChange]) -> None:
        if changes:
            ledger.record_schema_changes(
                self.client, load_id=self.load_id, source=self.source.name, day=self.part.day,
                changes=changes, detected_at=self.loaded_at,
            )

    def _load_rows(
        self, files: list[LandingFile], layouts: dict[str, FileLayout]
    ) -> tuple[dict[str, tuple[int, int, int]], dict[str, int]]:
        """Good rows → stage, bad rows → rejects stage; per-file counts and reject reasons."""
        for f in files:
            self._insert_rows(f, layouts[f.key], rejects=False)
        good = self._rows_per_file(self.scratch.stage, "_source_file")
        file_rows: dict[str, int] = {}  # Parquet only: the footer's count is the truth
        reread = False
        for f in files:
            counted = self._file_rows(f, layouts[f.key])
            if self.fmt is FileFormat.PARQUET:
                file_rows[f.key] = counted
            # A CSV count (rows delimited, not parsed) only spares the second read of a file
            # whose rows all loaded; otherwise the rows read are those its parse finds.
            if counted != good.get(f.key, 0):
                self._insert_rows(f, layouts[f.key], rejects=True)
                reread = True
        return self._counts(files, good, file_rows, rejects_read=reread)

    def _insert_rows(self, f: LandingFile, layout: FileLayout, *, rejects: bool) -> None:
        """One read of `f`: its good rows into the stage, or its bad rows into the rejects."""
        table_fn, params = self._table_function(f, layout)
        rows = validated_select_sql(self.source, self.fmt, self.part.day, table_fn,
                                    layout.fields)
        sql = (rejects_insert_sql(self.scratch.rejects, rows) if rejects
               else stage_insert_sql(self.source, self.scratch.stage, rows))
        params |= {
            "file_name": f.key, "source": self.source.name, "day": self.part.day,
            "load_id": self.load_id, "loaded_at": self.loaded_at,
        }
        with self._reading(f):
            self.client.command(sql, parameters=params, settings=READ_SETTINGS)

    def _file_rows(self, f: LandingFile, layout: FileLayout) -> int:
        """Rows in the file, not parsed: a Parquet footer's count, ClickHouse's CSV row counter
        (quotes and line breaks). Never cached: a file re-exported under its name is new."""
        table_fn, params = self._table_function(f, layout)
        with self._reading(f):
            result = self.client.query(
                f"SELECT count() FROM {table_fn}", parameters=params,
                settings={**READ_SETTINGS, **COUNT_SETTINGS},
            )
        return int(result.result_rows[0][0])

    def _table_function(self, f: LandingFile, layout: FileLayout) -> tuple[str, dict]:
        """s3()/file() reading `f` with its layout's structure, and its parameters."""
        structure = read_structure(self.source, self.fmt, layout.fields)
        return self.landing.table_function(f, self.fmt.clickhouse, structure, self.cluster)

    @contextmanager
    def _reading(self, f: LandingFile) -> Iterator[None]:
        """ClickHouse errors while reading `f` become load errors naming the file."""
        try:
            yield
        except ClickHouseError as e:
            raise classify(
                e, source=self.source.name, day=self.part.day, file=f.key,
                what="could not read the file",
            ) from e

    def _rows_per_file(self, table: str, file_column: str) -> dict[str, int]:
        rows = self.client.query(
            f"SELECT {file_column}, count() FROM {table} GROUP BY {file_column}"
        ).result_rows
        return {file: int(n) for file, n in rows}

    def _counts(
        self, loaded: list[LandingFile], good: dict[str, int], file_rows: dict[str, int], *,
        rejects_read: bool,
    ) -> tuple[dict[str, tuple[int, int, int]], dict[str, int]]:
        """Per file (read, loaded, rejected), and the most frequent reject reasons.

        Fails the load if a file's rows are not all accounted for: nothing may be lost.
        """
        bad, reasons = self._rejected() if rejects_read else ({}, {})  # else it is empty
        counts = {}
        for f in loaded:
            ok, rejected = good.get(f.key, 0), bad.get(f.key, 0)
            read = file_rows.get(f.key, ok + rejected)
            if read != ok + rejected:
                raise TerminalLoadError(
                    f"{read} rows in the file but {ok} loaded + {rejected} rejected; "
                    "nothing was swapped in",
                    source=self.source.name, day=self.part.day, file=f.key,
                    hint="This is a loader bug: report it with the file.",
                )
            counts[f.key] = (read, ok, rejected)
        return counts, reasons

    def _rejected(self) -> tuple[dict[str, int], dict[str, int]]:
        """The rejects stage's rows per file, and its 20 most frequent reasons."""
        reasons = self.client.query(
            f"SELECT reason, count() FROM {self.scratch.rejects} "
            f"GROUP BY reason ORDER BY count() DESC LIMIT 20"
        ).result_rows
        return self._rows_per_file(self.scratch.rejects, "file"), {r: int(n) for r, n in reasons}

    def _swap(self) -> None:
        day = self.part.day.isoformat()
        self.scratch.align_to_raw()
        self.client.command(
            f"ALTER TABLE {self.source.table} REPLACE PARTITION '{day}' FROM {self.scratch.stage}",
            settings=SWAP_SETTINGS,
        )
        self.client.command(
            f"ALTER TABLE {REJECTS_TABLE} REPLACE PARTITION ('{self.source.name}', '{day}') "
            f"FROM {self.scratch.rejects}",
            settings=SWAP_SETTINGS,
        )

    def _record_failure(self, error: LoadError) -> None:
        """Best effort: the ledger says which file failed and why; the old day stays."""
        f = next((f for f in self.part.files if f.key == error.file), None)
        entry = ledger.LedgerEntry(
            FileStatus.FAILED, error.file or "", f.fingerprint if f else "", f.size if f else 0,
            message=error.reason,
        )
        try:
            ledger.record(self.client, load_id=self.load_id, partition=self.part,
                          entries=[entry], loaded_at=self.loaded_at)
        except ClickHouseError as e:  # the warehouse itself is failing; the raised error says why
            log.warning("could not record the failed load in raw.load_ledger: %s",
                        clickhouse_message(e, MESSAGE_LIMIT))
