"""The project's dbt macros that change how models are built and tested, on a tiny project
with the real dbt CLI and engine: day batches (macros/day_batches.sql) and the two-phase
`unique` and `unique_combination` tests (macros/test_unique*.sql)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.dbt_cli import REPO_ROOT, dbt, ok, query, tiny_profile, write

from orchestration.transform.assets import dbt_run_vars

pytestmark = pytest.mark.slow  # real dbt/Dagster runs: not in `make test-fast`

FIRST_DAY = dt.date(2026, 5, 1)
DAYS = 10
MACROS = ("generate_schema_name.sql", "run_var.sql", "partition_window.sql", "day_batches.sql",
          "test_unique.sql", "test_unique_combination.sql")


def events() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    days = [FIRST_DAY + dt.timedelta(days=int(d)) for d in rng.integers(0, DAYS, 400)]
    return pd.DataFrame({"event_date": days, "value": rng.integers(0, 1000, 400)})


def project(root: Path, warehouse: Path) -> Path:
    files = {
        "dbt_project.yml": """
            name: tiny
            profile: tiny
            config-version: 2
            macro-paths: ["macros"]
            seeds:
              tiny:
                +column_types: {event_date: Date, value: Int64}
        """,
        "profiles.yml": tiny_profile(warehouse),
        # Exact per-day percentiles: the kind of aggregate that holds every value of an INSERT.
        "models/daily_stats.sql": """
            {{ config(materialized='incremental', incremental_strategy='insert_overwrite',
                      partition_by='event_date', order_by='event_date',
                      build_in_day_batches=true) }}
            select
                event_date,
                toUInt64(count()) as events,
                toFloat64(quantileExactInclusive(0.95)(value)) as p95
            from {{ ref('events') }}
            where {{ partition_window('event_date') }}
            group by event_date
        """,
        "models/ids.sql": "select id from {{ ref('seen_ids') }}",
        "models/pairs.sql": "select k, n from {{ ref('seen_pairs') }}",
        "models/_models.yml": """
            version: 2
            models:
              - name: ids
                columns:
                  - name: id
                    data_tests: [unique]
              - name: pairs
                data_tests:
                  - unique_combination:
                      arguments: {columns: [k, n]}
        """,
        "seeds/_seeds.yml": """
            version: 2
            seeds:
              - name: seen_pairs
                config:
                  column_types: {k: Nullable(String), n: Nullable(Int64)}
        """,
    }
    write(root, files)
    (root / "macros").mkdir()
    for name in MACROS:
        (root / "macros" / name).write_text((REPO_ROOT / "macros" / name).read_text())
    (root / "seeds").mkdir(exist_ok=True)
    events().to_csv(root / "seeds" / "events.csv", index=False)
    return root


def window(start: dt.date, end: dt.date, batch_days: int) -> str:
    return json.dumps({"start_date": start.isoformat(), "end_date": end.isoformat(),
                       "batch_days": batch_days})


def expected_stats() -> list[tuple]:
    """Per day: events and the 95th percentile with linear interpolation (numpy's default)."""
    frame = events()
    return [(day, len(g), float(np.percentile(g["value"], 95)))
            for day, g in sorted(frame.groupby("event_date"))]


def stats(warehouse: Path) -> list[tuple]:
    return query(warehouse, "SELECT event_date, events, p95 FROM analytics.daily_stats "
                            "ORDER BY event_date")


def batch_lines(output: str) -> list[str]:
    return re.findall(r"daily_stats: day batch \d+/\d+, [^\n]*", output)


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    warehouse = tmp_path / "wh"
    root = project(tmp_path / "tiny", warehouse)
    (root / "seeds" / "seen_ids.csv").write_text("id\na\nb\nc\n")
    (root / "seeds" / "seen_pairs.csv").write_text("k,n\na,1\na,2\nb,1\n,1\nc,\n")
    return root, warehouse  # seeded by each test's first build (`+model`)


def test_a_long_window_is_built_in_day_batches_with_the_same_result(tiny, tmp_path):
    root, warehouse = tiny
    last = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    # First build (no table yet): 10 days in batches of 3 → 4 INSERTs, open at both ends.
    run = ok(dbt(["build", "-s", "+daily_stats"], root, tmp_path,
                 **dbt_run_vars((FIRST_DAY, last), batch_days=3)))
    assert batch_lines(run.stdout) == [
        "daily_stats: day batch 1/4, days up to 2026-05-03",
        "daily_stats: day batch 2/4, days 2026-05-04 to 2026-05-06",
        "daily_stats: day batch 3/4, days 2026-05-07 to 2026-05-09",
        "daily_stats: day batch 4/4, days from 2026-05-10",
    ]
    assert stats(warehouse) == expected_stats()

    # An incremental run over part of the range, in batches of 2: the same days come back.
    days = (FIRST_DAY + dt.timedelta(days=2), last - dt.timedelta(days=1))
    run = ok(dbt(["run", "-s", "daily_stats"], root, tmp_path,
                 **dbt_run_vars(days, batch_days=2)))
    assert len(batch_lines(run.stdout)) == 4  # 7 days: 2 + 2 + 2 + 1
    assert stats(warehouse) == expected_stats()

    # batch_days 0 (or a window that fits one batch) is a single INSERT, same result. From
    # the shell, as --vars, which win over the environment's window.
    run = ok(dbt(["run", "-s", "daily_stats", "--full-refresh", "--vars",
                  window(FIRST_DAY, last, 0)], root, tmp_path,
                 **dbt_run_vars((last, last), batch_days=1)))
    assert batch_lines(run.stdout) == []
    assert stats(warehouse) == expected_stats()


def test_unique_tests_find_exactly_the_repeated_keys_nulls_included(tiny, tmp_path):
    root, warehouse = tiny
    # pairs: NULL in either key column is no repeat.
    ok(dbt(["build", "-s", "+ids", "+pairs"], root, tmp_path))

    (root / "seeds" / "seen_ids.csv").write_text("id\na\nb\nb\nc\nd\nd\nd\n")
    (root / "seeds" / "seen_pairs.csv").write_text(
        "k,n\na,1\na,1\na,2\nb,1\n,3\n,3\n,1\nc,\nc,\nc,\nd,4\n")
    failed = dbt(["build", "-s", "+ids", "+pairs", "--full-refresh", "--store-failures"],
                 root, tmp_path)
    assert failed.returncode == 1
    assert "Got 2 results" in failed.stdout and "Got 3 results" in failed.stdout
    assert query(warehouse, "SELECT unique_field, n_records FROM dbt_test__audit."
                            "unique_ids_id ORDER BY unique_field") == [("b", 2), ("d", 3)]
    assert query(warehouse, "SELECT k, n, n_rows FROM dbt_test__audit."
                            "unique_combination_pairs_k__n ORDER BY k NULLS FIRST, n") == [
        (None, 3, 2), ("a", 1, 2), ("c", None, 3)]
