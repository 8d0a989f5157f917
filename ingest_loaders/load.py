"""Load one (source, day) partition into `raw`, all or nothing.

1. Check each file's schema (header / Parquet columns) against the contract.
2. ClickHouse reads each file once, checking every row against the contract, and inserts the
   good rows into a staging copy of the raw table. Only when a file has rows that were not
   loaded (a CSV file always: its row count is not known without parsing it) is it read a
   second time for the bad rows, which go to a staging copy of rejects with their reason.
3. Every row read is accounted for (read = loaded + rejected) or the load fails.
4. The day is swapped in with `ALTER TABLE … REPLACE PARTITION`: readers see the old day
   or the new day, never half of one. A failure before the swap leaves the old day intact.
5. Every file is recorded in `raw.load_ledger`.
A partition whose files are unchanged since its last successful load is not reloaded.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from ingest_loaders import ledger
from ingest_loaders.errors import LoadError, TerminalLoadError, classify
from ingest_loaders.landing import Landing, LandingFile, Partition
from ingest_loaders.read_sql import READ_SETTINGS, read_structure, validated_select_sql
from ingest_loaders.schema_check import check_csv_header, check_parquet_schema
from ingest_loaders.sources import SOURCES, Source
from ingest_loaders.tables import REJECTS_TABLE, ensure_raw_tables

SWAP_SETTINGS = {"allow_replace_partition_from_empty_source": 1}
# On a server, scratch tables older than this are from a load that died (no load takes 6 h).
STALE_SCRATCH_SECONDS = 6 * 3600


@dataclass(frozen=True)
class FileResult:
    file: str
    size_bytes: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    status: str


@dataclass
class LoadResult:
    source: str
    day: dt.date
    status: str  # loaded | unchanged | incomplete
    load_id: str = ""
    files: list[FileResult] = field(default_factory=list)
    ignored_files: tuple[str, ...] = ()
    reject_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def bytes_read(self) -> int:
        return sum(f.size_bytes for f in self.files if f.status == "loaded")


def load_partition(
    client: Client, landing: Landing, source_name: str, day: dt.date, *, force: bool = False
) -> LoadResult:
    """Load a complete partition; `force` reloads it even if its files are unchanged."""
    started = time.perf_counter()
    source = SOURCES[source_name]
    try:
        partition = landing.partition(source.name, day)
    except Exception as e:  # OS, boto3 or ClickHouse errors alike: classified, cause kept
        raise classify(e, source=source.name, day=day, file=None, what="listing failed") from e
    if partition is None:
        return LoadResult(source.name, day, "incomplete", seconds=time.perf_counter() - started)

    ensure_raw_tables(client)
    current = {(f.key, f.fingerprint) for f in partition.files}
    if not force and ledger.last_loaded_files(client, source.name, day) == current:
        return LoadResult(
            source.name, day, "unchanged", ignored_files=partition.ignored,
            seconds=time.perf_counter() - started,
        )
    result = _PartitionLoad(client, landing, source, partition).run()
    result.seconds = time.perf_counter() - started
    return result


class _PartitionLoad:
    def __init__(self, client: Client, landing: Landing, source: Source, part: Partition) -> None:
        self.client = client
        self.landing = landing
        self.source = source
        self.part = part
        self.load_id = uuid.uuid4().hex[:16]
        stem = f"raw._load_{source.name}_{part.day:%Y%m%d}_{self.load_id}"
        self.stage_table = f"{stem}_stage"
        self.rejects_table = f"{stem}_rejects"
        self.loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.fmt = "Parquet" if source.file_format == "parquet" else "CSV"

    def run(self) -> LoadResult:
        day, name = self.part.day, self.source.name
        entries: list[ledger.LedgerEntry] = []
        try:
            self._create_scratch_tables()
            loaded, duplicates = self._distinct_files()
            counts, reasons = self._load_rows(loaded)
            entries = [
                ledger.LedgerEntry(
                    f.key, f.fingerprint, f.size, *counts.get(f.key, (0, 0, 0)), "loaded"
                )
                for f in loaded
            ] + duplicates
            self._swap()
            if not self.part.files:
                entries.append(ledger.LedgerEntry("", "", 0, 0, 0, 0, "empty_partition"))
            ledger.record(
                self.client, load_id=self.load_id, source=name, day=day,
                entries=entries, loaded_at=self.loaded_at,
            )
        except LoadError as e:
            self._record_failure(e)
            raise
        except ClickHouseError as e:  # reading a file raises LoadError naming it
            error = classify(e, source=name, day=day, file=None, what="ClickHouse refused the load")
            self._record_failure(error)
            raise error from e
        finally:
            self._drop_scratch_tables()
        files = [
            FileResult(e.file, e.size_bytes, e.rows_read, e.rows_loaded, e.rows_rejected, e.status)
            for e in entries
            if e.file
        ]
        return LoadResult(
            name, day, "loaded", self.load_id, files, self.part.ignored, reasons
        )

    def _distinct_files(self) -> tuple[list[LandingFile], list[ledger.LedgerEntry]]:
        """The files to read, and ledger entries for same content delivered under two names."""
        first_by_content: dict[str, str] = {}
        loaded: list[LandingFile] = []
        duplicates: list[ledger.LedgerEntry] = []
        for f in self.part.files:
            if f.fingerprint in first_by_content:
                duplicates.append(ledger.LedgerEntry(
                    f.key, f.fingerprint, f.size, 0, 0, 0, "duplicate_file",
                    f"identical to {first_by_content[f.fingerprint]}",
                ))
            else:
                first_by_content[f.fingerprint] = f.key
                loaded.append(f)
        return loaded, duplicates

    def _load_rows(
        self, files: list[LandingFile]
    ) -> tuple[dict[str, tuple[int, int, int]], dict[str, int]]:
        """Good rows → stage, bad rows → rejects stage; per-file counts and reject reasons."""
        for f in files:
            self._check_schema(f)
            self._insert_rows(f, rejects=False)
        good = self._rows_per_file(self.stage_table, "_source_file")
        file_rows: dict[str, int] = {}  # Parquet only: a CSV row count needs a full parse
        for f in files:
            if self.fmt == "Parquet":
                file_rows[f.key] = self._file_rows(f)
            if file_rows.get(f.key) != good.get(f.key, 0):
                self._insert_rows(f, rejects=True)
        return self._counts(files, good, file_rows)

    def _drop_stale_scratch_tables(self) -> None:
        """Scratch tables of this (source, day) left by a load that was killed (kill -9, OOM).

        The embedded engine is open in one process at a time, so any such table is stale; on
        a server another load of the same day may be running, so only old ones are dropped.
        """
        prefix = f"_load_{self.source.name}_{self.part.day:%Y%m%d}_"
        min_age = 0 if type(self.client).__name__ == "ChdbClient" else STALE_SCRATCH_SECONDS
        stale = self.client.query(
            "SELECT name FROM system.tables WHERE database = 'raw' "
            "AND startsWith(name, {prefix:String}) "
            "AND metadata_modification_time <= now() - {min_age:UInt32}",
            parameters={"prefix": prefix, "min_age": min_age},
        ).result_rows
        for (name,) in stale:
            self.client.command(f"DROP TABLE IF EXISTS raw.`{name}` SYNC")

    def _create_scratch_tables(self) -> None:
        self._drop_stale_scratch_tables()
        self.client.command(f"CREATE TABLE {self.stage_table} AS {self.source.table}")
        self.client.command(f"CREATE TABLE {self.rejects_table} AS {REJECTS_TABLE}")

    def _drop_scratch_tables(self) -> None:
        for table in (self.stage_table, self.rejects_table):
            try:
                self.client.command(f"DROP TABLE IF EXISTS {table} SYNC")
            except ClickHouseError:
                pass  # best effort: a stale scratch table is harmless and named by its load

    def _check_schema(self, f: LandingFile) -> None:
        if f.clickhouse_format != self.fmt:
            raise TerminalLoadError(
                f"expected {self.fmt} files for this source, found {f.name}",
                source=self.source.name, day=self.part.day, file=f.key,
            )
        if self.fmt == "Parquet":
            check_parquet_schema(self.client, self.landing, self.source, self.part.day, f)
        else:
            check_csv_header(self.client, self.landing, self.source, self.part.day, f)

    def _insert_rows(self, f: LandingFile, *, rejects: bool) -> None:
        """One read of `f`: its good rows into the stage, or its bad rows into the rejects."""
        table_fn, params = self._table_function(f)
        rows = validated_select_sql(self.source, self.fmt, self.part.day, table_fn)
        if rejects:
            sql = f"""
                INSERT INTO {self.rejects_table}
                SELECT {{source:String}}, {{day:Date}}, _file_name, _row, _reason, _raw,
                       {{load_id:String}}, {{loaded_at:DateTime}}
                FROM ({rows}) WHERE _reason != ''
            """
        else:
            columns = ", ".join(f"`{c}`" for c in self.source.column_names)
            parsed = ", ".join(f"p_{c}" for c in self.source.column_names)
            sql = f"""
                INSERT INTO {self.stage_table}
                    ({columns}, _partition_date, _source_file, _source_row, _load_id, _loaded_at)
                SELECT {parsed}, {{day:Date}}, _file_name, _row, {{load_id:String}},
                       {{loaded_at:DateTime}}
                FROM ({rows}) WHERE _reason = ''
            """
        params |= {
            "file_name": f.key, "source": self.source.name, "day": self.part.day,
            "load_id": self.load_id, "loaded_at": self.loaded_at,
        }
        with self._reading(f):
            self.client.command(sql, parameters=params, settings=READ_SETTINGS)

    def _file_rows(self, f: LandingFile) -> int:
        """Rows in a Parquet file, from its footer (no data is read)."""
        table_fn, params = self._table_function(f)
        with self._reading(f):
            result = self.client.query(
                f"SELECT count() FROM {table_fn}", parameters=params, settings=READ_SETTINGS
            )
        return int(result.result_rows[0][0])

    def _table_function(self, f: LandingFile) -> tuple[str, dict]:
        """s3()/file() reading `f` with the source's read structure, and its parameters."""
        return self.landing.table_function(f, self.fmt, read_structure(self.source, self.fmt))

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
        self, loaded: list[LandingFile], good: dict[str, int], file_rows: dict[str, int]
    ) -> tuple[dict[str, tuple[int, int, int]], dict[str, int]]:
        """Per file (read, loaded, rejected), and the most frequent reject reasons.

        Fails the load if a file's rows are not all accounted for: nothing may be lost.
        """
        bad = self._rows_per_file(self.rejects_table, "file")
        reasons = self.client.query(
            f"SELECT reason, count() FROM {self.rejects_table} "
            f"GROUP BY reason ORDER BY count() DESC LIMIT 20"
        ).result_rows
        counts = {}
        for f in loaded:
            ok, rejected = good.get(f.key, 0), bad.get(f.key, 0)
            read = file_rows.get(f.key, ok + rejected)
            if read != ok + rejected:
                raise TerminalLoadError(
                    f"{read} rows in the file but {ok} loaded + {rejected} rejected; "
                    "nothing was swapped in. Report this as a loader bug with the file",
                    source=self.source.name, day=self.part.day, file=f.key,
                )
            counts[f.key] = (read, ok, rejected)
        return counts, dict(Counter({reason: int(n) for reason, n in reasons}))

    def _swap(self) -> None:
        day = self.part.day.isoformat()
        self.client.command(
            f"ALTER TABLE {self.source.table} REPLACE PARTITION '{day}' FROM {self.stage_table}",
            settings=SWAP_SETTINGS,
        )
        self.client.command(
            f"ALTER TABLE {REJECTS_TABLE} REPLACE PARTITION ('{self.source.name}', '{day}') "
            f"FROM {self.rejects_table}",
            settings=SWAP_SETTINGS,
        )

    def _record_failure(self, error: LoadError) -> None:
        """Best effort: the ledger says which file failed and why; the old day stays."""
        f = next((f for f in self.part.files if f.key == error.file), None)
        entry = ledger.LedgerEntry(
            error.file or "", f.fingerprint if f else "", f.size if f else 0, 0, 0, 0,
            "failed", error.reason,
        )
        try:
            ledger.record(
                self.client, load_id=self.load_id, source=self.source.name, day=self.part.day,
                entries=[entry], loaded_at=self.loaded_at,
            )
        except ClickHouseError:
            pass  # the warehouse itself is failing; the raised error says why
