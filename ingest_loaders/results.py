"""What a partition load reports: per file and per (source, day)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


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
        return sum(f.size_bytes for f in self.files if f.status == "loaded")
