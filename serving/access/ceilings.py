"""The result ceilings of a tenant login, held where a result leaves a tenant session.

ClickHouse checks `max_result_rows` / `max_result_bytes` between blocks ("limits are checked
after each block", ClickHouse#3007), so a result made of one big block passes them whole:
`SELECT arrayJoin(range(5000000))` returned 5,000,001 rows past a 1,048,576-row ceiling, and
`repeat('a', 1000000)` a megabyte past a 100 kB one. The door counts what it hands over
instead: past the login's ceiling (or a lower one the caller passed as a setting) it fails
with ClickHouse's own error, or, when the query asked for `result_overflow_mode = 'break'`
(as a setting, or anywhere in its SETTINGS clauses: a wrong guess only turns the error into
a cut), hands over the first rows up to the ceiling, as `LIMIT` would. Lower limits in a
statement's own SETTINGS clause stay the engine's to check, block by block.

Rows are counted exactly; bytes are the values' sizes (text and binary strings by length,
every other value 8 bytes) for parsed results, and the body's length for raw ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.query import QueryResult

from serving.access.limits import TenantLimits

TOO_MANY_ROWS_OR_BYTES = 396
# Raw results a session hands over: formats with one row per line, and their header lines.
LINE_FORMATS = {
    "CSV": 0, "CSVWithNames": 1, "CSVWithNamesAndTypes": 2,
    "TabSeparated": 0, "TSV": 0, "TabSeparatedWithNames": 1, "TSVWithNames": 1,
    "TabSeparatedWithNamesAndTypes": 2, "TSVWithNamesAndTypes": 2,
    "JSONEachRow": 0, "JSONCompactEachRow": 0,
}


class ResultCeilingError(DatabaseError):
    """A result past the login's ceiling (ClickHouse's TOO_MANY_ROWS_OR_BYTES)."""


def _exceeded(what: str, ceiling: int, current: int) -> ResultCeilingError:
    return ResultCeilingError(
        f"Code: {TOO_MANY_ROWS_OR_BYTES}. DB::Exception: Limit for result exceeded, max "
        f"{what}: {ceiling}, current {what}: {current}. (TOO_MANY_ROWS_OR_BYTES)"
    )


def _value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes | bytearray):
        return len(value)
    return 8


@dataclass(frozen=True)
class ResultCeiling:
    max_rows: int
    max_bytes: int
    breaks: bool  # result_overflow_mode = 'break': cut at the ceiling instead of failing

    @classmethod
    def of(cls, limits: TenantLimits, settings: Mapping[str, Any] | None,
           statement: str = "") -> ResultCeiling:
        """The login's ceilings, lowered by the settings a caller passed with the query (the
        engine refuses them above the ceiling); `statement` as the parser printed it."""
        asked = dict(settings or {})

        def lowered(name: str, ceiling: int) -> int:
            value = int(asked.get(name) or ceiling)
            return min(value, ceiling)

        return cls(max_rows=lowered("max_result_rows", limits.max_result_rows),
                   max_bytes=lowered("max_result_bytes", limits.max_result_bytes),
                   breaks=asked.get("result_overflow_mode") == "break"
                   or "result_overflow_mode = 'break'" in statement)

    def hold(self, result: QueryResult) -> QueryResult:
        rows: Sequence[Sequence[Any]] = result.result_rows
        kept, size = 0, 0
        for row in rows:
            if kept == self.max_rows:
                over = _exceeded("rows", self.max_rows, len(rows))
                break
            size += sum(_value_size(v) for v in row)
            if size > self.max_bytes:
                over = _exceeded("bytes", self.max_bytes, size)
                break
            kept += 1
        else:
            return result
        if not self.breaks:
            raise over
        return QueryResult(list(rows[:kept]), column_names=result.column_names,
                           column_types=result.column_types, query_id=result.query_id,
                           summary=result.summary)

    def hold_raw(self, body: bytes, fmt: str) -> bytes:
        if fmt not in LINE_FORMATS:
            raise ValueError(f"a tenant session returns raw results in one of "
                             f"{', '.join(LINE_FORMATS)}, not {fmt}")
        lines = body.splitlines(keepends=True)
        header = LINE_FORMATS[fmt]
        if len(lines) - header <= self.max_rows and len(body) <= self.max_bytes:
            return body
        if not self.breaks:
            if len(lines) - header > self.max_rows:
                raise _exceeded("rows", self.max_rows, len(lines) - header)
            raise _exceeded("bytes", self.max_bytes, len(body))
        kept, size = header, sum(len(line) for line in lines[:header])
        while kept < len(lines) and kept - header < self.max_rows \
                and size + len(lines[kept]) <= self.max_bytes:
            size += len(lines[kept])
            kept += 1
        return b"".join(lines[:kept])
