"""The export sources, read from their declarations in `sources/<name>.yml` (docs/contract.md §3).

A declaration is the one place a source is described: its format, columns and their types,
value rules, id and day columns, raw ORDER BY and schema policy. The raw table DDL, the
loader's read and row checks, the schema check, the Great Expectations suite, the Dagster
assets and dbt's `source()` entries are all derived from it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml

from saas_warehouse.settings import REPO_ROOT

SOURCES_DIR = REPO_ROOT / "sources"

DayCheck = Literal["timestamp", "date", "none"]
SchemaPolicy = Literal["evolve", "freeze", "discard"]
RuleKind = Literal["min", "max", "in", "in_seed", "regex", "min_year"]

# Columns every raw table carries beside the export's own: where each row came from.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_partition_date", "Date"),
    ("_source_file", "LowCardinality(String)"),
    ("_source_row", "UInt64"),
    ("_load_id", "LowCardinality(String)"),
    ("_loaded_at", "DateTime('UTC')"),
    ("_delivery", "UInt8"),  # 1 first delivery of its key that day, 2 a repeat (deliveries.py)
)


class FileFormat(StrEnum):
    """A source's export format, as declarations spell it (`format: parquet`)."""

    PARQUET = "parquet"
    CSV = "csv"

    @property
    def clickhouse(self) -> str:
        """ClickHouse's name of the input format (`file()`, `s3()`)."""
        return "Parquet" if self is FileFormat.PARQUET else "CSV"


class Severity(StrEnum):
    """What a broken rule or a failed check does: ERROR blocks the day's models, WARN only
    warns. Spelled as Dagster's AssetCheckSeverity; declarations write it lower-case."""

    ERROR = "ERROR"
    WARN = "WARN"


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class DeclarationError(ValueError):
    """A declaration that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Rule:
    """A value rule: `min`/`max` bounds, `in` a list, `in_seed` a seed column
    (`plans.plan`), `regex`, or `min_year` of a timestamp. `error` rules block the day's
    models; `warn` rules only warn."""

    kind: RuleKind
    value: Any
    severity: Severity = Severity.ERROR


@dataclass(frozen=True)
class Column:
    name: str
    ch_type: str  # the raw table's type
    required: bool = False  # null or empty means the row breaks the contract
    max_bytes: int | None = None  # a longer value rejects the row
    description: str = ""
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Freshness:
    """How late a source's newest load may be (hours since it was last loaded): the export
    is late past `warn_after_hours`, and missing past `error_after_hours`."""
    warn_after_hours: int = 36
    error_after_hours: int = 72


@dataclass(frozen=True)
class Source:
    name: str
    file_format: FileFormat
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]
    id_column: str | None  # the delivery id; repeats are kept in raw, marked by the loader
    day_column: str | None  # must fall on the partition's day
    day_check: DayCheck
    description: str
    schema_policy: SchemaPolicy = "evolve"
    # What identifies one delivery within a day: the id column, unless the id is unique
    # only within another column (users: within the tenant).
    delivery_key: tuple[str, ...] = ()
    freshness: Freshness = Freshness()
    # Raw keeps the newest loaded day and this many days before it (None: everything).
    retention_days: int | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _choice(path: Path, key: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise DeclarationError(f"{path}: {key} is {value!r}; expected one of {', '.join(allowed)}")
    return value


def _rule(path: Path, column: str, raw: dict[str, Any]) -> list[Rule]:
    severity = Severity(_choice(path, f"{column}.rules.severity",
                                raw.get("severity", "error"), ("error", "warn")).upper())
    kinds = [k for k in raw if k != "severity"]
    unknown = [k for k in kinds if k not in get_args(RuleKind)]
    if unknown or not kinds:
        raise DeclarationError(
            f"{path}: column {column} has a rule {raw!r}; a rule is one of "
            f"{', '.join(get_args(RuleKind))} (min and max may go together), plus severity"
        )
    # Lists become tuples: a Source is hashable (cached suites, assets).
    return [Rule(cast(RuleKind, kind), tuple(v) if isinstance(v := raw[kind], list) else v,
                 severity) for kind in kinds]


def _column(path: Path, raw: dict[str, Any]) -> Column:
    name = str(raw.get("name", ""))
    if not _NAME.match(name) or "type" not in raw:
        raise DeclarationError(f"{path}: every column needs a lower_case name and a type: {raw!r}")
    return Column(
        name=name,
        ch_type=str(raw["type"]),
        required=bool(raw.get("required", False)),
        max_bytes=raw.get("max_bytes"),
        description=" ".join(str(raw.get("description", "")).split()),
        rules=tuple(r for rule in raw.get("rules", ()) for r in _rule(path, name, rule)),
    )


def read_declaration(path: Path) -> Source:
    """One `sources/<name>.yml`, checked: a mistake fails here, naming the file and key."""
    raw = yaml.safe_load(path.read_text()) or {}
    if raw.get("name") != path.stem:
        raise DeclarationError(f"{path}: name is {raw.get('name')!r}; it must be {path.stem!r}")
    columns = tuple(_column(path, c) for c in raw.get("columns") or ())
    names = [c.name for c in columns]
    if not columns or len(set(names)) != len(names):
        raise DeclarationError(f"{path}: columns must be listed, each name once")
    for key in ("id_column", "day_column"):
        if raw.get(key) is not None and raw[key] not in names:
            raise DeclarationError(f"{path}: {key} {raw[key]!r} is not one of the columns")
    id_column = raw.get("id_column")
    delivery_key = tuple(raw.get("delivery_key") or ([id_column] if id_column else []))
    misnamed = any(c not in names for c in delivery_key)
    if delivery_key and (id_column not in delivery_key or misnamed):
        raise DeclarationError(
            f"{path}: delivery_key must name declared columns, id_column among them: "
            f"{delivery_key!r}"
        )
    order_by = tuple(raw.get("order_by") or ())
    if not order_by or any(c not in names for c in order_by):
        raise DeclarationError(f"{path}: order_by must name declared columns: {order_by!r}")
    day_check = _choice(path, "day_check", raw.get("day_check", "none"), get_args(DayCheck))
    if (day_check == "none") != (raw.get("day_column") is None):
        raise DeclarationError(f"{path}: day_column and day_check go together")
    return Source(
        name=path.stem,
        file_format=FileFormat(_choice(path, "format", raw.get("format"),
                                       tuple(FileFormat))),
        columns=columns,
        order_by=order_by,
        id_column=id_column,
        day_column=raw.get("day_column"),
        day_check=day_check,
        description=" ".join(str(raw.get("description", "")).split()),
        schema_policy=_choice(path, "schema_policy", raw.get("schema_policy", "evolve"),
                              get_args(SchemaPolicy)),
        delivery_key=delivery_key,
        freshness=_freshness(path, raw.get("freshness") or {}),
        retention_days=_retention_days(path, raw),
    )


def _retention_days(path: Path, raw: dict[str, Any]) -> int | None:
    days = raw.get("retention_days")
    if days is None:
        return None
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise DeclarationError(
            f"{path}: retention_days is {days!r}; expected a whole number of days, at least 1")
    if raw.get("day_column") is None:
        raise DeclarationError(
            f"{path}: retention_days is for sources with a day_column; {path.stem} is a daily "
            "snapshot, and the dimensions keep every snapshot's day as history (a tenant's "
            "plan as of each day): remove retention_days")
    return days


def _freshness(path: Path, raw: dict[str, Any]) -> Freshness:
    hours = {**asdict(Freshness()), **raw}
    whole = all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hours.values())
    if set(hours) != set(asdict(Freshness())) or not whole \
            or hours["warn_after_hours"] >= hours["error_after_hours"]:
        raise DeclarationError(
            f"{path}: freshness is {raw!r}; expected warn_after_hours and error_after_hours, "
            "whole hours, warn before error")
    return Freshness(**hours)


@cache
def load_sources(directory: Path = SOURCES_DIR) -> dict[str, Source]:
    """Every declaration in `directory`, by name, in file-name order; read on first use
    (never at import), then kept."""
    return {p.stem: read_declaration(p) for p in sorted(directory.glob("*.yml"))}
