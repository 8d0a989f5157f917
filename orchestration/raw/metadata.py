"""Dagster metadata for loads: what an engineer wants to see on a materialization."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import dagster as dg

from ingest_loaders.results import DayStatus, FileStatus, LoadResult

# The attribute a day's log record carries (`extra=day_record(r)`): progress bars count
# these records, whatever the line's words.
LOADED_DAY = "saas_warehouse_loaded_day"


def day_record(r: LoadResult) -> dict[str, str]:
    """The structured part of a loaded (source, day)'s log record."""
    return {LOADED_DAY: f"{r.source} {r.day.isoformat()}"}


def day_summary(r: LoadResult) -> str:
    """The log line of one loaded (source, day)."""
    if r.status != DayStatus.LOADED:
        return f"{r.source} {r.day}: {r.status}"
    return (
        f"{r.source} {r.day}: {r.rows_loaded:,} rows loaded, {r.rows_rejected:,} rejected "
        f"from {len(r.files)} file(s) in {r.seconds:.2f}s"
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 60 else text[:59] + "…"

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def day_metadata(r: LoadResult, rows_in_raw: int) -> dict[str, dg.MetadataValue]:
    """One (source, day) partition's own figures. An unchanged day was not reloaded: its
    rows are the ones raw already holds."""
    return {
        "dagster/row_count": dg.MetadataValue.int(rows_in_raw),
        "status": dg.MetadataValue.text(str(r.status)),
        "rows_read": dg.MetadataValue.int(r.rows_read),
        "rows_loaded": dg.MetadataValue.int(r.rows_loaded),
        "rows_rejected": dg.MetadataValue.int(r.rows_rejected),
        # loaded rows that repeat an id's delivery that day: kept in raw, not in staging
        "rows_repeated": dg.MetadataValue.int(r.rows_repeated),
        "files_loaded": dg.MetadataValue.int(sum(f.status == FileStatus.LOADED for f in r.files)),
        "bytes_read": dg.MetadataValue.int(r.bytes_read),
        "seconds": dg.MetadataValue.float(round(r.seconds, 3)),
        "reject_reasons": dg.MetadataValue.md(
            markdown_table(["reason", "rows"], Counter(r.reject_reasons).most_common(10))
            if r.reject_reasons else "none"
        ),
    }


def run_metadata(results: list[LoadResult]) -> dict[str, dg.MetadataValue]:
    """What every partition of the run shows besides its own figures: the run's days."""
    per_day = [
        [r.day.isoformat(), str(r.status), r.rows_read, r.rows_loaded, r.rows_rejected,
         len(r.files), f"{r.seconds:.2f}"]
        for r in results
    ]
    return {
        "run_days": dg.MetadataValue.md(markdown_table(
            ["day", "status", "read", "loaded", "rejected", "files", "seconds"], per_day
        )),
    }
