"""Writing partitions to the landing zone (local directory or S3), `_SUCCESS` last.

A partition is replaced as a whole: old objects go first, then the data files, then the
marker, so a reader never sees a `_SUCCESS` next to a half-written partition.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from saas_warehouse.urls import LandingUrl

SUCCESS = "_SUCCESS"


class Sink(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def clear(self, prefix: str) -> None: ...
    def describe(self) -> str: ...


class LocalSink:
    """Files under a directory; each file appears atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{random.getrandbits(32):08x}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def clear(self, prefix: str) -> None:
        d = self.root / prefix
        if d.is_dir():
            marker = d / SUCCESS  # the marker goes first: the partition is incomplete from now
            marker.unlink(missing_ok=True)
            for f in d.iterdir():
                if f.is_file():
                    f.unlink()

    def describe(self) -> str:
        return str(self.root)


class S3Sink:
    """Objects under s3://bucket/prefix; the client honours the usual AWS_* variables."""

    def __init__(self, bucket: str, prefix: str) -> None:
        import boto3

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = boto3.client("s3")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def clear(self, prefix: str) -> None:
        full = self._key(prefix).rstrip("/") + "/"
        self.client.delete_object(Bucket=self.bucket, Key=full + SUCCESS)
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=full
        )
        keys = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])]
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[i : i + 1000]})

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def open_sink(landing_url: str) -> Sink:
    """The sink for a LANDING_URL, parsed as the settings parse it (docs/contract.md §1)."""
    url = LandingUrl.parse(landing_url)
    return S3Sink(url.bucket, url.prefix) if url.is_s3 else LocalSink(url.local_directory())


def parquet_bytes(table: pa.Table) -> bytes:
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue().to_pybytes()


def csv_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    opts = pcsv.WriteOptions(quoting_style="none", quoting_header="none")
    pcsv.write_csv(table, buf, opts)
    return buf.getvalue()


def with_duplicates(
    table: pa.Table, rng: np.random.Generator, rate: float, parts: int
) -> list[pa.Table]:
    """At-least-once delivery: ~`rate` of rows sent twice, split over `parts` files by time.

    A duplicate lands at the end of a random part, so it is sometimes in the other file
    of the day (copying only the duplicates keeps this cheap at millions of rows).
    """
    n = table.num_rows
    dup = np.flatnonzero(rng.random(n) < rate)
    where = rng.integers(0, parts, len(dup))
    out = []
    for p in range(parts):
        lo, hi = n * p // parts, n * (p + 1) // parts
        extra = table.take(pa.array(dup[where == p]))
        out.append(pa.concat_tables([table.slice(lo, hi - lo), extra]))
    return out


class PartitionWriter:
    """Writes partitions on background threads, so encoding overlaps the next day's work."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.files = 0  # data files
        self.partitions = 0  # each closed with a _SUCCESS marker
        self.bytes = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="landing-writer")
        self._pending: list[Future[None]] = []

    def submit(self, source: str, day: dt.date, files: list[tuple[str, pa.Table]]) -> None:
        self._pending.append(self._pool.submit(self._write, source, day, files))
        if len(self._pending) > 8:  # bounded memory: wait for the oldest
            self._pending.pop(0).result()

    def _write(self, source: str, day: dt.date, files: list[tuple[str, pa.Table]]) -> None:
        prefix = f"{source}/dt={day.isoformat()}"
        self.sink.clear(prefix)
        written = 0
        for name, table in files:
            data = parquet_bytes(table) if name.endswith(".parquet") else csv_bytes(table)
            self.sink.put(f"{prefix}/{name}", data)
            written += len(data)
        self.sink.put(f"{prefix}/{SUCCESS}", b"")
        with self._lock:
            self.files += len(files)
            self.partitions += 1
            self.bytes += written

    def close(self) -> None:
        """Waits for every write; the first failure is raised here."""
        try:
            for f in self._pending:
                f.result()
        finally:
            self._pool.shutdown(wait=True)
