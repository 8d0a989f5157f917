"""Run every check on the loaded days of one source."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import logging
import threading
import time
from functools import cache
from typing import Any

from clickhouse_connect.driver.client import Client

from ingest_loaders.quality import exact
from ingest_loaders.quality.report import CheckOutcome, QualityReport, Thresholds
from ingest_loaders.quality.suites import build_suite, sampled_columns, severities
from saas_warehouse.sources import Severity, Source

EXAMPLES = 5  # unexpected values shown per failed expectation
DEFAULT_LIMITS = Thresholds()


def validate_days(
    client: Client, source: Source, days: list[dt.date], limits: Thresholds = DEFAULT_LIMITS
) -> QualityReport:
    """All checks of CHECKS over `days` (each already loaded into raw)."""
    started = time.perf_counter()
    outcomes = [
        exact.rows_accounted_for(client, source, days),
        *exact.keys_and_ids(client, source, days, limits),
        exact.row_count_stable(client, source, days, limits),
        exact.schema_unchanged(client, source, days),
    ]
    sql_seconds = time.perf_counter() - started
    started = time.perf_counter()
    keys = next(o for o in outcomes if o.name == "keys_not_null")  # days: (day, rows, …)
    rows_per_day = {dt.date.fromisoformat(str(day)): int(str(rows)) for day, rows, *_ in keys.days}
    frame = sample_days(client, source, rows_per_day, limits.sample_rows)
    outcomes += _expectations(source, frame, days)
    ge_seconds = time.perf_counter() - started
    return QualityReport(outcomes, sql_seconds, ge_seconds, len(frame))


# A pseudo-random function of a row's origin: the file's hash is taken once per file (the
# column is LowCardinality), then one integer hash a row: half the cost of hashing both.
_ORIGIN_HASH = "intHash64(_source_row + cityHash64(_source_file))"
_ALL = 2**64 - 1


def sample_days(
    client: Client, source: Source, rows_per_day: dict[dt.date, int], limit: int
) -> Any:
    """Up to `limit` rows of each day as one pandas frame (column `_day`, ISO date): a
    deterministic pseudo-random sample, the rows with the smallest hashes of their origin, so
    a re-run validates the same rows. `rows_per_day`: the days and the rows raw holds.

    One query for all the days; on a big day only the rows under a cut of the hash (about
    twice the rows needed) are sorted. A day the cut left short is read again without it.
    """
    import pandas as pd  # not at import time: the Dagster definitions load without it

    cuts = {day: min(_ALL, _ALL * 2 * limit // n) for day, n in rows_per_day.items() if n}
    if not cuts:
        return pd.DataFrame(columns=["_day", *sampled_columns(source)])
    frame = _sample_below(client, source, cuts, limit)
    got = frame["_day"].value_counts()
    short = {day: _ALL for day in cuts
             if got.get(day.isoformat(), 0) < min(limit, rows_per_day[day]) and cuts[day] < _ALL}
    if short:  # ~never: twice the expected rows fell under the cut
        again = _sample_below(client, source, short, limit)
        kept = frame[~frame["_day"].isin([d.isoformat() for d in short])]
        frame = pd.concat([kept, again], ignore_index=True)
    return frame


def _sample_below(client: Client, source: Source, cuts: dict[dt.date, int], limit: int) -> Any:
    columns = ", ".join(f"{sql} AS `{name}`" for name, sql in sampled_columns(source).items())
    return client.query_df(
        f"SELECT toString(_partition_date) AS _day, {columns} FROM {source.table} "
        "WHERE _partition_date IN {days:Array(Date)} "
        f"AND {_ORIGIN_HASH} <= transform(_partition_date, {{days:Array(Date)}}, "
        "{cuts:Array(UInt64)}, toUInt64(0)) "
        f"ORDER BY _partition_date, {_ORIGIN_HASH} LIMIT {{limit:UInt32}} BY _partition_date",
        parameters={"days": list(cuts), "cuts": list(cuts.values()), "limit": limit},
    )


def warm_up() -> None:
    """Import Great Expectations in a background thread: 2-4 s of Python that then overlaps
    the loads (which wait on the engine) instead of following them. A validation that starts
    first waits on the import's own lock; building the context after it takes milliseconds."""
    threading.Thread(target=importlib.import_module, args=("great_expectations",),
                     name="warm-up-great-expectations", daemon=True).start()


_DECLARATIONS = itertools.count(1)


@cache
def _context() -> Any:
    """An ephemeral Great Expectations context (nothing written to disk), one per process."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas("raw")
    return context


@cache
def _batch_and_suite(source: Source) -> tuple[Any, Any]:
    """The source's dataframe asset and suite in this process's context. Each declaration gets
    its own names: another declaration of the same source in one process (one changed by a
    test, or read again) must not meet the first one's under the same name."""
    context = _context()
    name = f"{source.name}_{next(_DECLARATIONS)}"
    asset = context.data_sources.get("raw").add_dataframe_asset(name)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"{name}_day")
    return batch_definition, context.suites.add(build_suite(source, name=name))


def run_suite(source: Source, frame: Any) -> list[dict[str, Any]]:
    """One Great Expectations validation of a frame; one plain dict per expectation, with
    the frame's index of every unexpected value."""
    batch_definition, suite = _batch_and_suite(source)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format="COMPLETE")
    rows = []
    for r in result.results:
        config = r.expectation_config
        kwargs = {k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id")}
        rows.append({
            "severity": Severity(config.meta.get("severity", Severity.ERROR)),
            "expectation": config.type,
            "column": config.kwargs.get("column"),
            "arguments": kwargs,
            "unexpected_index": list(r.result.get("unexpected_index_list") or []),
        })
    return rows


def _expectations(source: Source, frame: Any, days: list[dt.date]) -> list[CheckOutcome]:
    """Great Expectations once over every sampled day (its fixed cost is per validation,
    ~50-90 ms); each unexpected value is counted against its own day. No expectation has a
    `mostly`, so a day passes when none of its values is unexpected."""
    header = ("day", "expectation", "column", "success", "unexpected share (sample)", "examples")
    by_severity: dict[Severity, CheckOutcome] = {
        Severity.ERROR: CheckOutcome("valid_values", [], days_header=header),
        Severity.WARN: CheckOutcome("plausible_values", [], days_header=header),
    }
    # An empty day has no values to judge (row_count_stable watches it).
    day_of_row = frame["_day"]
    present = set(day_of_row.unique())
    sampled = [d.isoformat() for d in days if d.isoformat() in present]
    results = []  # per expectation: its row, judged values per day, unexpected ones per day
    for row in run_suite(source, frame) if sampled else []:
        values = frame[row["column"]]
        results.append((row, values.notna().groupby(day_of_row).sum(),  # GE leaves NULLs out
                        values.loc[row["unexpected_index"]].groupby(day_of_row).agg(list)))
    for day in sampled:
        for row, judged, unexpected in results:
            outcome = by_severity[row["severity"]]
            bad = unexpected.get(day, [])
            share = round(len(bad) / max(1, int(judged.get(day, 0))), 5)
            if bad and day not in outcome.failed_days:
                outcome.failed_days.append(day)
            short = row["expectation"].removeprefix("expect_column_values_to_")
            examples = list(dict.fromkeys(str(v) for v in bad))[:EXAMPLES]
            outcome.days.append([day, f"{short} {row['arguments']}", row["column"], not bad,
                                 share, ", ".join(examples)])
            if row["expectation"] == "expect_column_values_to_be_in_set":
                key = f"unknown_{row['column']}_share"
                outcome.metadata[key] = max(float(str(outcome.metadata.get(key, 0.0))), share)
    for outcome in by_severity.values():
        outcome.metadata["sample_rows"] = len(frame)
        outcome.metadata["failed_expectations"] = sum(not r[3] for r in outcome.days)
    return [o for severity, o in by_severity.items() if severity in severities(source)]
