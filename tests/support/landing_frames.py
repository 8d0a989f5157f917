"""Independent reads of the export files with pandas/pyarrow, to check the warehouse against."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from saas_warehouse.sources import load_sources


def partition_files(root: Path, source: str, day: dt.date) -> list[Path]:
    folder = root / source / f"dt={day.isoformat()}"
    return sorted(p for p in folder.iterdir() if p.suffix in (".parquet", ".csv", ".gz"))


def read_partition(root: Path, source: str, day: dt.date) -> pd.DataFrame:
    frames = []
    for path in partition_files(root, source, day):
        if load_sources()[source].file_format == "parquet":
            frames.append(pq.read_table(path).to_pandas())
        else:
            frames.append(pd.read_csv(path, dtype=str, keep_default_na=False))
    return pd.concat(frames, ignore_index=True)


def expected_counts(root: Path, source: str, days: list[dt.date]) -> tuple[int, int]:
    """(rows, distinct (day, id) pairs) in the files of those days."""
    id_column = load_sources()[source].id_column
    rows, distinct = 0, 0
    for day in days:
        frame = read_partition(root, source, day)
        rows += len(frame)
        distinct += frame[id_column].nunique()
    return rows, distinct
