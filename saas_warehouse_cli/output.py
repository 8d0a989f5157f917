"""What the CLI prints: result tables and the summaries after a run."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

from saas_warehouse.settings import Settings


def print_kpi_summary(settings: Settings, day: dt.date) -> None:
    from saas_warehouse.warehouse import open_warehouse

    with open_warehouse(settings.warehouse_url) as client:
        totals = client.query(
            "SELECT uniqExact(tenant_id) AS tenants, sum(dau) AS active_users, "
            "sum(events) AS product_events, sum(new_users) AS signups, "
            "sum(api_requests) AS requests, "
            "round(sum(api_errors) / greatest(sum(api_requests), 1), 4) AS error_rate, "
            "round(toFloat64(sum(billed_usd)), 2) AS billed "
            "FROM bi.kpi_tenant_daily WHERE date = {day:Date}",
            parameters={"day": day},
        )
        top = client.query(
            "SELECT tenant_id, dau, wau, mau, events, round(api_error_rate, 4) AS error_rate, "
            "round(api_latency_p95_ms, 1) AS p95_ms, round(toFloat64(billed_usd), 2) AS billed_usd "
            "FROM bi.kpi_tenant_daily WHERE date = {day:Date} ORDER BY dau DESC LIMIT 5",
            parameters={"day": day},
        )
    print(f"\nKPIs on {day} (bi.kpi_tenant_daily)")
    print_table(list(totals.column_names), totals.result_rows)
    print("\ntop tenants by daily active users")
    print_table(list(top.column_names), top.result_rows)


def print_raw_counts(settings: Settings, start: dt.date, end: dt.date) -> None:
    from ingest_loaders.tables import REJECTS_TABLE
    from saas_warehouse.sources import load_sources
    from saas_warehouse.warehouse import open_warehouse

    union = " UNION ALL ".join(
        f"SELECT '{s.name}' AS source, count() AS rows, uniqExact({s.id_column}) AS distinct_ids "
        f"FROM {s.table} WHERE _partition_date BETWEEN {{start:Date}} AND {{end:Date}}"
        for s in load_sources().values()
    )
    rejects = (f"SELECT source, count() AS rejected_rows FROM {REJECTS_TABLE} "
               "WHERE partition_date BETWEEN {start:Date} AND {end:Date} GROUP BY source")
    with open_warehouse(settings.warehouse_url) as client:
        result = client.query(
            f"SELECT loaded.*, rejected_rows FROM ({union}) AS loaded "
            f"LEFT JOIN ({rejects}) AS rejected USING (source) ORDER BY source",
            parameters={"start": start, "end": end},
        )
    print(f"\nraw rows for {start} .. {end}")
    print_table(list(result.column_names), result.result_rows)


def print_table(header: list[str], rows: Sequence[Sequence[object]]) -> None:
    if header:  # a statement without a result set prints nothing
        print(format_table(header, rows))


def format_table(header: list[str], rows: Sequence[Sequence[object]]) -> str:
    """The result as aligned columns for a terminal, every value shown with `terminal_text`."""
    # Rows as wide as the header (a KILL QUERY result once came back narrower).
    cells = [[terminal_text(h) for h in header]] + [
        [("" if v is None else terminal_text(str(v))) for v in row][: len(header)]
        + [""] * (len(header) - len(row)) for row in rows
    ]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(_pad(v, w, right=bool(n) and _numeric(v))
                               for v, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# What a terminal obeys rather than shows: C0 controls (ESC sequences, BEL, CR, LF…), DEL, the
# C1 controls (\x9b is a one-byte CSI), line/paragraph separators and the bidi overrides that
# reorder what follows them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """`text` safe to print: each control character as its Python escape (`\\x1b`, `\\n`)."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _width(text: str) -> int:
    """Columns `text` fills in a terminal: wide (CJK) characters two, combining marks none."""
    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) == "Cf"
               else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * (width - _width(text))
    return space + text if right else text + space


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
