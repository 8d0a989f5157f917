"""Step-level profile behind BENCHMARKS.md: what a load of one day costs, piece by piece.

    python -m bench.loader_profile [SOURCES] [REPEAT]     (default product_events,api_requests 3)

One day at events_per_day=1.2M in a moto S3 server (child process), one chDB warehouse; every
step is timed REPEAT times (interleaved, order rotated) and the median is printed: ours as a
whole, s3() read only, read + validation into a Null / Memory table, Memory → the sorted stage
MergeTree (also with max_insert_threads=2 and with ORDER BY tuple()), a direct INSERT … SELECT
FROM s3() (also with max_insert_threads=2), a single-pass Null table + two materialized views
(good rows → stage, bad rows → rejects), and the Python path's pieces. Temporary dirs and the
S3 server are removed at the end.
"""

import datetime as dt
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.loader import BUCKET, PREFIX, MotoServer

tmp = Path(tempfile.mkdtemp(prefix="blprof-"))
server = MotoServer()
try:
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": server.endpoint_url,
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    import boto3
    import pyarrow.parquet as pq

    from ingest_loaders.landing import landing_from_url
    from ingest_loaders.load import load_partition
    from ingest_loaders.read_sql import (
        READ_SETTINGS,
        insert_rows_sql,
        read_structure,
        rows_table_columns,
    )
    from ingest_loaders.sources import SOURCES
    from ingest_loaders.tables import ensure_raw_tables, raw_table_ddl
    from saas_warehouse.generate import generate
    from saas_warehouse.warehouse import open_warehouse

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    day = dt.date(2026, 3, 3)
    generate(
        f"s3://{BUCKET}/{PREFIX}",
        day,
        1,
        tenants=24,
        seed=7,
        events_per_day=int(os.environ.get("BENCH_EVENTS_PER_DAY", 1_200_000)),
        progress=False,
    )
    landing = landing_from_url(f"s3://{BUCKET}/{PREFIX}", s3)
    with open_warehouse(f"chdb://{tmp / 'wh'}") as c:
        ensure_raw_tables(c)
        print(
            c.query(
                "SELECT name, value FROM system.settings WHERE name IN ('max_threads','max_insert_threads','min_insert_block_size_rows','max_block_size','parallel_view_processing')"
            ).result_rows
        )
        times = {}

        def t(label, fn):
            s = time.perf_counter()
            fn()
            times.setdefault(label, []).append(time.perf_counter() - s)

        for src_name in (sys.argv[1] if len(sys.argv) > 1 else "product_events,api_requests").split(
            ","
        ):
            src = SOURCES[src_name]
            part = landing.partition(src_name, day)
            cols = ", ".join(f"`{x}` {y}" for x, y in rows_table_columns(src))
            c.command("CREATE DATABASE IF NOT EXISTS p")
            for n in ("mem", "nullv", "nullr"):
                c.command(f"DROP TABLE IF EXISTS p.{n} SYNC")
            c.command(f"CREATE TABLE p.mem ({cols}) ENGINE = Memory")
            c.command(f"CREATE TABLE p.nullv ({cols}) ENGINE = Null")
            c.command(f"CREATE TABLE p.nullr ({read_structure(src, 'Parquet')}) ENGINE = Null")
            for n in ("stage", "stage_nosort", "direct", "router_stage", "arrow_t"):
                c.command(f"DROP TABLE IF EXISTS p.{n} SYNC")
                c.command(raw_table_ddl(src, f"p.{n}"))
            c.command("DROP TABLE IF EXISTS p.stage_nosort SYNC")
            c.command(
                raw_table_ddl(src, "p.stage_nosort").replace(
                    f"ORDER BY ({', '.join(src.order_by)})", "ORDER BY tuple()"
                )
            )
            # router: Null table with validated rows + MVs to stage and rejects (single pass)
            for n in ("router", "mv_good", "mv_bad", "router_rejects"):
                c.command(f"DROP TABLE IF EXISTS p.{n} SYNC")
            c.command(f"CREATE TABLE p.router ({cols}) ENGINE = Null")
            c.command("CREATE TABLE p.router_rejects AS raw.rejects")
            colnames = ", ".join(f"`{x}`" for x in src.column_names)
            c.command(
                f"CREATE MATERIALIZED VIEW p.mv_good TO p.router_stage AS SELECT {colnames}, toDate('{day}') AS _partition_date, _source_file, _source_row, 'x' AS _load_id, now() AS _loaded_at FROM p.router WHERE _reject_reason = ''"
            )
            c.command(
                f"CREATE MATERIALIZED VIEW p.mv_bad TO p.router_rejects AS SELECT '{src_name}' AS source, toDate('{day}') AS partition_date, _source_file AS file, _source_row AS row_number, _reject_reason AS reason, _raw_row AS raw_row, 'x' AS load_id, now() AS rejected_at FROM p.router WHERE _reject_reason != ''"
            )
            lineage = "_partition_date, _source_file, _source_row, _load_id, _loaded_at"
            move = (
                f"INSERT INTO {{t}} ({colnames}, {lineage}) SELECT {colnames}, toDate('{day}'), "
                "_source_file, _source_row, 'x', now() FROM p.mem WHERE _reject_reason = ''"
            )
            rawstruct = ", ".join(f"`{x.name}` {x.ch_type}" for x in src.columns)

            def read_to(table, validated, settings=None):
                for f in part.files:
                    if validated:
                        fn, params = landing.table_function(
                            f, "Parquet", read_structure(src, "Parquet")
                        )
                        c.command(
                            insert_rows_sql(src, "Parquet", day, table, fn),
                            parameters={**params, "file_name": f.key},
                            settings={**READ_SETTINGS, **(settings or {})},
                        )
                    else:
                        fn, params = landing.table_function(
                            f, "Parquet", read_structure(src, "Parquet")
                        )
                        c.command(
                            f"INSERT INTO {table} SELECT * FROM {fn}",
                            parameters=params,
                            settings={"use_hive_partitioning": 0, **(settings or {})},
                        )

            def direct(settings=None):
                c.command("TRUNCATE TABLE p.direct")
                for f in part.files:
                    fn, params = landing.table_function(f, "Parquet", rawstruct)
                    c.command(
                        f"INSERT INTO p.direct ({colnames}, {lineage}) SELECT {colnames}, "
                        f"toDate('{day}'), {{file:String}}, _row_number+1, 'x', now() FROM {fn}",
                        parameters={**params, "file": f.key},
                        settings={"use_hive_partitioning": 0, **(settings or {})},
                    )

            def mem_fill():
                c.command("TRUNCATE TABLE p.mem")
                read_to("p.mem", True)

            def move_to(t, settings=None):
                c.command(f"TRUNCATE TABLE {t}")
                c.command(move.format(t=t), settings=settings or {})

            def router(settings=None):
                c.command("TRUNCATE TABLE p.router_stage")
                c.command("TRUNCATE TABLE p.router_rejects")
                read_to("p.router", True, settings)

            def get_only():
                for f in part.files:
                    s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{f.key}")["Body"].read()

            def get_read():
                for f in part.files:
                    pq.read_table(
                        io.BytesIO(
                            s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{f.key}")["Body"].read()
                        )
                    )

            def arrow_ins():
                c.command("TRUNCATE TABLE p.arrow_t")
                for f in part.files:
                    tb = pq.read_table(
                        io.BytesIO(
                            s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{f.key}")["Body"].read()
                        )
                    )
                    c.insert_arrow("p.arrow_t", tb)

            steps = [
                (
                    "ours load_partition",
                    lambda: load_partition(c, landing, src_name, day, force=True),
                ),
                ("s3 read only → Null", lambda: read_to("p.nullr", False)),
                ("s3 read+validate → Null", lambda: read_to("p.nullv", True)),
                ("s3 read+validate → Memory", mem_fill),
                ("Memory → stage MergeTree", lambda: move_to("p.stage")),
                (
                    "Memory → stage, max_insert_threads=2",
                    lambda: move_to("p.stage", {"max_insert_threads": 2}),
                ),
                ("Memory → stage ORDER BY tuple()", lambda: move_to("p.stage_nosort")),
                ("s3 → MergeTree direct (sql)", direct),
                (
                    "s3 → MergeTree direct, max_insert_threads=2",
                    lambda: direct({"max_insert_threads": 2}),
                ),
                ("s3 read+validate → Null router → MVs (stage/rejects)", router),
                ("router, max_insert_threads=2", lambda: router({"max_insert_threads": 2})),
                ("boto3 get_object only", get_only),
                ("boto3 get_object + pq.read_table", get_read),
                ("get+read_table+insert_arrow (no lineage)", arrow_ins),
            ]
            times.clear()
            R = int(sys.argv[2]) if len(sys.argv) > 2 else 3
            for r in range(R):
                for label, fn in steps[r % len(steps) :] + steps[: r % len(steps)]:
                    t(label, fn)
            rows = int(c.command("SELECT count() FROM p.mem"))
            print(
                f"\n== {src_name}: {rows:,} rows, "
                f"{sum(f.size for f in part.files) / 1e6:.1f} MB, "
                f"{len(part.files)} files; median of {R}"
            )
            for label, _ in steps:
                v = times[label]
                print(f"{label:<58} {statistics.median(v):7.3f}s  (min {min(v):.3f})")
            print(
                c.query(
                    "SELECT table, count(), sum(rows) FROM system.parts "
                    "WHERE database='p' AND active GROUP BY table"
                ).result_rows
            )
finally:
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)
