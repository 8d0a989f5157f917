"""A day of exports at any size, made by ClickHouse from a generated day (bench/scale.py).

The Python generator (sample_exports) writes ~2 M rows/s and holds a day in memory: fine for
history, not for a 100 M-row day. Here a generated day `source_day` becomes `day` with N rows of
product events and API requests (their proportion kept): every row repeated as many whole times
as N needs, the last copy sampled by a hash of its id; each copy's ids made unique
(`<id>-<copy>`), its timestamps moved to `day`. The users and tenants snapshots and the billing
lines are the source day's (billing's usage_date moved). One Parquet file per copy: a partition
of several files, as producers write a big day.

Run in a process of its own (`python -m bench.scale_day …`): it uses chDB's in-memory engine,
and a process holds one embedded engine (the benchmark's own is the warehouse)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import sys
import time
from pathlib import Path

# Source → (id column, columns that carry an id per copy, timestamp column).
EVENT_SOURCES = {
    "product_events": ("event_id", ("event_id", "session_id"), "ts"),
    "api_requests": ("request_id", ("request_id",), "ts"),
}
SNAPSHOTS = ("tenants", "users")
SAMPLE_SCALE = 1_000_000  # the last copy keeps rows whose id hash mod this is under frac·this


def day_dir(landing: Path, source: str, day: dt.date) -> Path:
    return landing / source / f"dt={day.isoformat()}"


def source_rows(landing: Path, day: dt.date) -> dict[str, int]:
    """Rows of each event source on a generated day (Parquet metadata only)."""
    import pyarrow.parquet as pq

    return {source: sum(pq.ParquetFile(p).metadata.num_rows
                        for p in day_dir(landing, source, day).glob("*.parquet"))
            for source in EVENT_SOURCES}


def make_day(landing: Path, source_day: dt.date, day: dt.date, rows: int) -> dict[str, int]:
    """Write `day` with `rows` rows of the event sources in all; returns rows per source."""
    import chdb

    have = source_rows(landing, source_day)
    factor = rows / sum(have.values())
    shift = (day - source_day).days
    for source, (id_column, id_columns, ts_column) in EVENT_SOURCES.items():
        out = day_dir(landing, source, day)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        src = f"{day_dir(landing, source, source_day)}/*.parquet"
        columns = _columns(chdb, src)
        for copy in range(math.ceil(factor)):
            keep = min(1.0, factor - copy)
            select = ", ".join(
                f"if({c} IS NULL, NULL, concat({c}, '-{copy}')) AS {c}"
                if c in id_columns and copy else
                f"{c} + toIntervalDay({shift}) AS {c}" if c == ts_column else c
                for c in columns)
            where = (f" WHERE cityHash64({id_column}) % {SAMPLE_SCALE} < "
                     f"{int(keep * SAMPLE_SCALE)}" if keep < 1 else "")
            chdb.query(
                f"INSERT INTO FUNCTION file('{out}/part-{copy:04d}.parquet', 'Parquet') "
                f"SELECT {select} FROM file('{src}', 'Parquet'){where} "
                "SETTINGS output_format_parquet_compression_method = 'zstd', "
                "engine_file_truncate_on_insert = 1")
    for source in SNAPSHOTS:
        _copy_partition(landing, source, source_day, day)
    _billing(landing, source_day, day)
    for source in (*EVENT_SOURCES, *SNAPSHOTS, "billing_line_items"):
        (day_dir(landing, source, day) / "_SUCCESS").touch()  # complete: written last
    return source_rows(landing, day)


def _columns(chdb, src: str) -> list[str]:
    described = chdb.query(f"DESCRIBE file('{src}', 'Parquet')", "JSONEachRow").bytes()
    return [json.loads(line)["name"] for line in described.decode().splitlines()]


def _copy_partition(landing: Path, source: str, source_day: dt.date, day: dt.date) -> None:
    out = day_dir(landing, source, day)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for path in day_dir(landing, source, source_day).iterdir():
        if not path.name.startswith(("_", ".")):
            shutil.copyfile(path, out / path.name)


def _billing(landing: Path, source_day: dt.date, day: dt.date) -> None:
    """The source day's billing lines on `day`: usage_date is the partition's day, each id
    made the new day's."""
    out = day_dir(landing, "billing_line_items", day)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for path in day_dir(landing, "billing_line_items", source_day).glob("*.csv"):
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        at, line_id = header.index("usage_date"), header.index("line_item_id")
        moved = [lines[0]]
        for line in lines[1:]:  # the generator writes no quoted field
            fields = line.split(",")
            fields[at] = day.isoformat()
            fields[line_id] += f"-{day:%Y%m%d}"  # unique across days, as the generator's
            moved.append(",".join(fields))
        (out / path.name).write_text("\n".join(moved) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("source_day", type=dt.date.fromisoformat)
    parser.add_argument("day", type=dt.date.fromisoformat)
    parser.add_argument("rows", type=float)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    written = make_day(args.landing, args.source_day, args.day, int(args.rows))
    json.dump({"rows": written, "seconds": time.perf_counter() - began}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
