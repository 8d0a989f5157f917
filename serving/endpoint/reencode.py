"""A tenant's result in a format the door cannot count rows in (RowBinaryWithNamesAndTypes
for clickhouse-jdbc/Metabase, Parquet, Arrow, …): the statement runs once, in Native, where
the door counts and holds it (ceilings.py), and the engine then writes those very rows in the
requested format. Running it twice would not do: a second run may return other rows.

Known difference: chDB's Native drops a `DateTime('zone')` column's zone, so such a column
comes back typed `DateTime` (the values are the same instants)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

from saas_warehouse.warehouse import sql_string
from serving.endpoint.engine import Handle

_FROM_NATIVE = "SELECT * FROM format(Native, unhex({rows:String}))"


def reencoded(fresh_handle: Callable[[], AbstractContextManager[Handle]], native: bytes,
              fmt: str, settings: Mapping[str, str]) -> bytes:
    """`native` (counted rows) in `fmt`, written by the engine on a handle of its own (the
    tenant's is read-only, and `format()` is a table function), with the tenant's checked
    BI settings (time zone, output format settings). Only these bytes reach that handle."""
    with fresh_handle() as handle:
        if settings:
            handle.run("SET " + ", ".join(f"{name} = {sql_string(value)}"
                                          for name, value in settings.items()))
        return bytes(handle.run(_FROM_NATIVE, fmt, {"rows": native.hex()}).bytes())
