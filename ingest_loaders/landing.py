"""The landing zone: which (source, day) partitions are complete, which files they hold, and
how ClickHouse reads them (`file()` for a local directory, `s3()` for S3).

Layout (docs/contract.md §3): `<root>/<source>/dt=YYYY-MM-DD/<name>.<parquet|csv|csv.gz>` with a
`_SUCCESS` file once the partition is complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from saas_warehouse.cluster import SINGLE_SERVER, Cluster
from saas_warehouse.sources import FileFormat
from saas_warehouse.urls import LandingUrl

SUCCESS_MARKER = "_SUCCESS"
DATA_SUFFIXES = {".parquet": FileFormat.PARQUET, ".csv": FileFormat.CSV, ".csv.gz": FileFormat.CSV}
_DAY_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class LandingFile:
    """One data file of a partition; `fingerprint` changes whenever its content does."""

    key: str  # relative to the landing root: <source>/dt=YYYY-MM-DD/<name>
    size: int
    fingerprint: str  # S3 ETag, or md5 of a local file

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def file_format(self) -> FileFormat | None:
        for suffix, fmt in DATA_SUFFIXES.items():
            if self.name.endswith(suffix):
                return fmt
        return None


@dataclass(frozen=True)
class Partition:
    """A complete partition: its data files, the `_SUCCESS` marker's own fingerprint and
    when the marker landed (its mtime or S3 LastModified, UTC without a zone)."""

    source: str
    day: dt.date
    files: tuple[LandingFile, ...]
    ignored: tuple[str, ...]  # names that are not data files (e.g. `.crc`, `README`)
    marker: str
    landed_at: dt.datetime


def partition_prefix(source: str, day: dt.date) -> str:
    return f"{source}/dt={day.isoformat()}/"


def _parse_day(dirname: str) -> dt.date | None:
    match = _DAY_DIR.match(dirname)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _partition(source: str, day: dt.date, entries: list[LandingFile], marker: str,
               landed_at: dt.datetime) -> Partition:
    data = [f for f in entries if f.file_format and not f.name.startswith((".", "_"))]
    ignored = [f.name for f in entries if f not in data and f.name != SUCCESS_MARKER]
    return Partition(source, day, tuple(sorted(data, key=lambda f: f.key)), tuple(ignored), marker,
                     landed_at.astimezone(dt.UTC).replace(tzinfo=None))


class Landing(Protocol):
    """What the loaders and the sensor need from a landing zone."""

    def describe(self) -> str: ...

    def complete_days(self, source: str) -> dict[dt.date, str]:
        """Complete partitions of a source → the fingerprint of their `_SUCCESS` marker."""
        ...

    def partition(self, source: str, day: dt.date) -> Partition | None:
        """The partition's files, or None when it has no `_SUCCESS` (not complete)."""
        ...

    def table_function(self, file: LandingFile, fmt: str, structure: str,
                       cluster: Cluster = SINGLE_SERVER) -> tuple[str, dict]:
        """A ClickHouse table function reading one file in ClickHouse's input format `fmt`
        (`Parquet`, `CSV`…), and its bound parameters; on a `cluster`, read by its nodes
        where the store allows it (S3: `s3Cluster`)."""
        ...


@dataclass(frozen=True)
class LocalLanding:
    root: Path

    def describe(self) -> str:
        return str(self.root)

    def complete_days(self, source: str) -> dict[dt.date, str]:
        days: dict[dt.date, str] = {}
        base = self.root / source
        if not base.is_dir():
            return days
        for entry in os.scandir(base):
            day = _parse_day(entry.name)
            marker = Path(entry.path) / SUCCESS_MARKER
            if day and entry.is_dir() and marker.exists():
                days[day] = str(marker.stat().st_mtime_ns)
        return days

    def partition(self, source: str, day: dt.date) -> Partition | None:
        folder = self.root / partition_prefix(source, day)
        marker = folder / SUCCESS_MARKER
        if not marker.exists():
            return None
        entries = [
            LandingFile(
                key=f"{partition_prefix(source, day)}{p.name}",
                size=p.stat().st_size,
                fingerprint=_md5(p),
            )
            for p in folder.iterdir()
            if p.is_file()
        ]
        landed = marker.stat()
        return _partition(source, day, entries, str(landed.st_mtime_ns),
                          dt.datetime.fromtimestamp(landed.st_mtime, dt.UTC))

    def table_function(self, file: LandingFile, fmt: str, structure: str,
                       cluster: Cluster = SINGLE_SERVER) -> tuple[str, dict]:
        # A local directory is one machine's: read by the node the loader's session is on.
        return (
            "file({path:String}, {fmt:String}, {structure:String})",
            {"path": str(self.root / file.key), "fmt": fmt, "structure": structure},
        )


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class S3Landing:
    """An S3 (or S3-compatible) landing zone, listed with boto3 and read by ClickHouse `s3()`."""

    bucket: str
    prefix: str  # without a trailing slash; may be empty
    client: Any  # a boto3 S3 client
    endpoint_url: str | None
    region: str | None
    access_key_id: str | None
    # Never in repr(): a Landing is logged and shown in errors.
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _list(self, prefix: str, delimiter: str | None = None) -> list[dict]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._key(prefix)}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        pages = self.client.get_paginator("list_objects_v2").paginate(**kwargs)
        items: list[dict] = []
        for page in pages:
            items.extend(page.get("Contents", []))
            items.extend({"Prefix": p["Prefix"]} for p in page.get("CommonPrefixes", []))
        return items

    def complete_days(self, source: str) -> dict[dt.date, str]:
        days: dict[dt.date, str] = {}
        for obj in self._list(f"{source}/"):
            key = obj.get("Key", "")
            if not key.endswith(f"/{SUCCESS_MARKER}"):
                continue
            day = _parse_day(key.rsplit("/", 2)[-2])
            if day:
                days[day] = f"{obj['ETag']}@{obj['LastModified'].isoformat()}"
        return days

    def partition(self, source: str, day: dt.date) -> Partition | None:
        prefix = partition_prefix(source, day)
        objects = [o for o in self._list(prefix, delimiter="/") if "Key" in o]
        marker = next((o for o in objects if o["Key"].endswith(f"/{SUCCESS_MARKER}")), None)
        if marker is None:
            return None
        cut = len(self._key(""))
        entries = [
            LandingFile(key=o["Key"][cut:], size=o["Size"], fingerprint=o["ETag"].strip('"'))
            for o in objects
        ]
        fingerprint = f"{marker['ETag']}@{marker['LastModified'].isoformat()}"
        return _partition(source, day, entries, fingerprint, marker["LastModified"])

    def object_url(self, file: LandingFile) -> str:
        key = quote(self._key(file.key), safe="/=-_.~")
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{self.bucket}/{key}"
        region = self.region or "us-east-1"
        return f"https://{self.bucket}.s3.{region}.amazonaws.com/{key}"

    def table_function(self, file: LandingFile, fmt: str, structure: str,
                       cluster: Cluster = SINGLE_SERVER) -> tuple[str, dict]:
        params = {"url": self.object_url(file), "fmt": fmt, "structure": structure}
        if not self.access_key_id:
            arguments = "{url:String}, NOSIGN, {fmt:String}, {structure:String}"
        else:
            params.update(key=self.access_key_id, secret=self.secret_access_key or "")
            token = ""
            if self.session_token:
                params["token"] = self.session_token
                token = "{token:String}, "
            arguments = ("{url:String}, {key:String}, {secret:String}, " + token
                         + "{fmt:String}, {structure:String}")
        if cluster:
            params["cluster"] = cluster.name
            return f"s3Cluster({{cluster:String}}, {arguments})", params
        return f"s3({arguments})", params


def landing_from_url(
    landing_url: LandingUrl | str | Path, s3_client: Any = None, session: Any = None
) -> Landing:
    """A Landing for `s3://bucket/prefix`, `file:///dir` or a plain directory path.

    For S3, boto3 lists the objects (`s3_client`, by default one of `session`) and ClickHouse
    reads them with the credentials of `session` (a boto3 Session; by default one from the
    standard AWS settings: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, …).
    """
    url = LandingUrl.of(landing_url)
    if not url.is_s3:
        return LocalLanding(url.local_directory())
    import boto3

    session = session or boto3.session.Session()
    client = s3_client or session.client("s3")
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials else None
    return S3Landing(
        bucket=url.bucket,
        prefix=url.prefix,
        client=client,
        endpoint_url=client.meta.endpoint_url if _custom_endpoint(client) else None,
        region=client.meta.region_name,
        access_key_id=frozen.access_key if frozen else None,
        secret_access_key=frozen.secret_key if frozen else None,
        session_token=frozen.token if frozen else None,
    )


def _custom_endpoint(client: Any) -> bool:
    return "amazonaws.com" not in (client.meta.endpoint_url or "")
