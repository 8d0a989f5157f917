"""A source is one declaration (sources/<name>.yml): dbt's source() entries are generated
from it, a mistake in it is named, and a sixth source added to a copy of the project loads
end to end with nothing else changed but its staging model."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import small_exports as sx
from support.browser import SCREENSHOTS, find_chromium, png_size, terminal_screenshot
from support.dbt_cli import copy_project

from ingest_loaders.dbt_sources import DBT_SOURCES_FILE, render_dbt_sources
from ingest_loaders.quality.suites import expectations
from ingest_loaders.tables import raw_table_ddl
from orchestration.runner import throwaway_dagster_home
from saas_warehouse.settings import REPO_ROOT
from saas_warehouse.sources import (
    LINEAGE_COLUMNS,
    DeclarationError,
    load_sources,
    read_declaration,
)
from saas_warehouse.warehouse import open_warehouse


def test_dbt_sources_are_generated_from_the_declarations() -> None:
    assert DBT_SOURCES_FILE.read_text() == render_dbt_sources(load_sources()), (
        "run `saas-warehouse sources generate`")
    dbt_tables = yaml.safe_load(DBT_SOURCES_FILE.read_text())["sources"][0]["tables"]
    for table in dbt_tables:
        declared = load_sources()[table["name"]]
        documented = {c["name"]: c["description"] for c in table["columns"]}
        assert {c.name: c.description for c in declared.columns}.items() <= documented.items()
        assert all(documented.values()), f"{declared.name}: a column without a description"


def test_tables_and_suites_follow_the_declaration(tmp_path: Path) -> None:
    """The raw table ClickHouse creates from the DDL has the declared columns and types, then
    the lineage columns, sorted by the declared ORDER BY; the suite has the declared rules."""
    events = load_sources()["product_events"]
    with open_warehouse(f"chdb://{tmp_path / 'wh'}") as client:
        client.command("CREATE DATABASE raw")
        client.command(raw_table_ddl(events))
        columns = client.query("SELECT name, type FROM system.columns WHERE database = 'raw' "
                               "AND table = 'product_events' ORDER BY position").result_rows
        (sorting_key,) = client.query("SELECT sorting_key FROM system.tables WHERE "
                                      "database = 'raw' AND name = 'product_events'").first_row
    declared = [(c.name, c.ch_type) for c in events.columns]
    assert [tuple(c) for c in columns[:len(declared)]] == declared
    assert [c[0] for c in columns[len(declared):]] == [name for name, _ in LINEAGE_COLUMNS]
    assert sorting_key == ", ".join(events.order_by)
    (rule,) = [e for e in expectations(events) if e.column == "event"]
    assert (rule.severity, rule.kind) == ("WARN", "ExpectColumnValuesToBeInSet")
    assert "feature_used" in rule.arguments["value_set"]  # from seeds/event_catalogue.csv


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(format="xml"), "format is 'xml'; expected one of parquet, csv"),
    (lambda d: d.update(schema_policy="merge"), "schema_policy is 'merge'"),
    (lambda d: d.update(id_column="nope"), "id_column 'nope' is not one of the columns"),
    (lambda d: d.update(order_by=["nope"]), "order_by must name declared columns"),
    (lambda d: d["columns"][0].update(rules=[{"between": 1}]), "column event_id has a rule"),
    (lambda d: d.update(name="events"), "name is 'events'; it must be 'product_events'"),
    (lambda d: d.update(freshness={"warn_after_hours": 72, "error_after_hours": 36}),
     "freshness is .*warn before error"),
    (lambda d: d.update(freshness={"warn_after": 1}), "freshness is .*warn_after_hours"),
])
def test_a_declaration_mistake_names_the_file_and_the_key(tmp_path: Path, edit, message) -> None:
    declaration = yaml.safe_load((REPO_ROOT / "sources" / "product_events.yml").read_text())
    edit(declaration)
    path = tmp_path / "product_events.yml"
    path.write_text(yaml.safe_dump(declaration))
    with pytest.raises(DeclarationError, match=message) as error:
        read_declaration(path)
    assert str(path) in str(error.value)


FLAGS_DECLARATION = """\
name: feature_flags
description: Feature flags per tenant, a full snapshot every day (CSV export).
format: csv
id_column: flag_id
day_check: none
order_by: [tenant_id, flag_id]
columns:
  - {name: flag_id, type: String, required: true, description: Id of the flag.}
  - {name: tenant_id, type: LowCardinality(String), required: true, description: The tenant.}
  - name: state
    type: LowCardinality(String)
    description: on or off.
    rules:
      - {in: ["on", "off"]}
"""

FLAGS_MODEL = """\
select
    flag_id,
    tenant_id,
    _partition_date as snapshot_date,
    state = 'on' as is_on
from {{ source('raw', 'feature_flags') }}
where _delivery = 1
"""


@pytest.mark.slow
def test_a_sixth_source_is_one_declaration_and_one_staging_model(
    sample_landing_template: Path, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    (project / "sources" / "feature_flags.yml").write_text(FLAGS_DECLARATION)
    model = project / "dbt_project" / "models" / "staging" / "flags"
    model.mkdir()
    (model / "stg_flags__feature_flags.sql").write_text(FLAGS_MODEL)

    landing = tmp_path / "landing"
    shutil.copytree(sample_landing_template, landing)
    day = min(dt.date.fromisoformat(p.name[3:]) for p in (landing / "users").iterdir())
    rows = [[f"f{i}", f"t{i % 3}", "on" if i % 2 else "off"] for i in range(9)]
    # The header in another order than the declaration's: CSV is matched by name.
    sx.write_partition(landing, "feature_flags", day, {"flags.csv": sx.csv_bytes(
        "feature_flags", [[r[2], r[0], r[1]] for r in rows], ["state", "flag_id", "tenant_id"])})

    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "WAREHOUSE"))},
           "WAREHOUSE_URL": f"chdb://{tmp_path / 'warehouse'}", "LANDING_URL": str(landing),
           "DAGSTER_HOME": str(throwaway_dagster_home(tmp_path / "dagster_home"))}

    def cli(*args: str) -> subprocess.CompletedProcess:
        # Run from the copy: its packages, sources/ and dbt project are the ones imported.
        result = subprocess.run([sys.executable, "-m", "saas_warehouse_cli", *args],
                                cwd=project, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result

    cli("sources", "generate")
    assert "feature_flags" in (project / DBT_SOURCES_FILE.relative_to(REPO_ROOT)).read_text()
    done = cli("run", "--start", day.isoformat(), "--end", day.isoformat())
    # A quiet run: a line per step, a summary and the raw counts; dbt's log is in a file.
    shown = (done.stdout + done.stderr).splitlines()
    dbt_lines = [line for line in shown if re.search(r"\d+ of \d+ (START|OK|PASS)", line)]
    assert len(shown) < 40 and not dbt_lines, shown
    log_file = Path(next(line for line in shown if line.startswith("dbt's log: "))
                    .removeprefix("dbt's log: ").split(";")[0])
    assert "Completed successfully" in log_file.read_text()
    if find_chromium():  # what the user saw, for docs/screenshots (`make screenshots`)
        png = terminal_screenshot(f"saas-warehouse run --start {day} --end {day}",
                                  done.stderr + done.stdout, SCREENSHOTS / "terminal-run.png")
        assert png_size(png)[1] > 200

    with open_warehouse(env["WAREHOUSE_URL"]) as client:
        loaded = client.query("SELECT flag_id, tenant_id, state FROM raw.feature_flags "
                              "ORDER BY flag_id").result_rows
        staged = client.query("SELECT count(), countIf(is_on) FROM "
                              "staging.stg_flags__feature_flags").result_rows[0]
        ledger = client.query("SELECT sum(rows_read) FROM raw.load_ledger "
                              "WHERE source = 'feature_flags'").result_rows[0][0]
        # The run's record has its steps' times: read from the instance that ran it.
        timed = client.query("SELECT status FROM raw.pipeline_runs "
                             "WHERE load_seconds > 0 AND build_seconds > 0").result_rows
    assert sorted(loaded) == sorted(tuple(r) for r in rows)  # header matched by name
    assert staged == (9, 4) and ledger == 9 and timed == [("success",)]

