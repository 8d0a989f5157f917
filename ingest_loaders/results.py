"""What a partition load reports: per file and per (source, day)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class DayStatus(StrEnum):
    """What a load did with a (source, day)."""

    LOADED = "loaded"
    UNCHANGED = "unchanged"  # its files are those of its last successful load: not reloaded
    INCOMPLETE = "incomplete"  # no _SUCCESS marker yet: not loaded


class FileStatus(StrEnum):
    """What a load did with one file: `raw.load_ledger.status` (docs/contract.md §3)."""

    LOADED = "loaded"
    DUPLICATE_FILE = "duplicate_file"  # the same content as another file of the day
    EMPTY_PARTITION = "empty_partition"  # a complete day without files (no file named)
    FAILED = "failed"


# The statuses of a load that succeeded: its files are the day's current ones.
SUCCESS_STATUSES = (FileStatus.LOADED, FileStatus.DUPLICATE_FILE, FileStatus.EMPTY_PARTITION)


@dataclass(frozen=True)
class FileResult:
    file: str
    size_bytes: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    status: FileStatus


@dataclass
class LoadResult:
    source: str
    day: dt.date
    status: DayStatus
    load_id: str = ""
    files: list[FileResult] = field(default_factory=list)
    ignored_files: tuple[str, ...] = ()
    reject_reasons: dict[str, int] = field(default_factory=dict)
    rows_repeated: int = 0  # loaded rows that repeat a delivery of the day (kept, marked)
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
        return sum(f.size_bytes for f in self.files if f.status == FileStatus.LOADED)
