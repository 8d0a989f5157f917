"""Dagster metadata for loads: what an engineer wants to see on a materialization."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import dagster as dg

from ingest_loaders.results import LoadResult

# The start of day_summary()'s line: "<source> <YYYY-MM-DD>: ".
DAY_SUMMARY = re.compile(r"^\w+ \d{4}-\d{2}-\d{2}: ")


def day_summary(r: LoadResult) -> str:
    """The log line of one loaded (source, day); DAY_SUMMARY recognizes it (progress bars)."""
    if r.status != "loaded":
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


def load_metadata(results: list[LoadResult]) -> dict[str, dg.MetadataValue]:
    loaded = [r for r in results if r.status == "loaded"]
    reasons: Counter[str] = Counter()
    for r in loaded:
        reasons.update(r.reject_reasons)
    files = [f for r in loaded for f in r.files]
    per_day = [
        [r.day.isoformat(), r.status, r.rows_read, r.rows_loaded, r.rows_rejected, len(r.files),
         f"{r.seconds:.2f}"]
        for r in results
    ]
    return {
        "dagster/row_count": dg.MetadataValue.int(sum(r.rows_loaded for r in loaded)),
        "rows_read": dg.MetadataValue.int(sum(r.rows_read for r in loaded)),
        "rows_loaded": dg.MetadataValue.int(sum(r.rows_loaded for r in loaded)),
        "rows_rejected": dg.MetadataValue.int(sum(r.rows_rejected for r in loaded)),
        "files_loaded": dg.MetadataValue.int(sum(f.status == "loaded" for f in files)),
        "bytes_read": dg.MetadataValue.int(sum(r.bytes_read for r in loaded)),
        "seconds": dg.MetadataValue.float(round(sum(r.seconds for r in results), 3)),
        "days_unchanged": dg.MetadataValue.int(sum(r.status == "unchanged" for r in results)),
        "days": dg.MetadataValue.md(markdown_table(
            ["day", "status", "read", "loaded", "rejected", "files", "seconds"], per_day
        )),
        "reject_reasons": dg.MetadataValue.md(
            markdown_table(["reason", "rows"], reasons.most_common(10)) if reasons else "none"
        ),
    }
