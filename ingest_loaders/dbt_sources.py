"""dbt's `source('raw', …)` entries, generated from the declarations in `sources/`.

`saas-warehouse sources generate` writes them to `dbt_project/models/staging/_raw__sources.yml`
(committed, so dbt and a reader see them without running anything); `saas-warehouse sources
check` and tests/test_sources.py fail when the file differs from what the declarations give.
"""

from __future__ import annotations

import json
from pathlib import Path

from saas_warehouse.settings import REPO_ROOT
from saas_warehouse.sources import LINEAGE_COLUMNS, Source

DBT_SOURCES_FILE = REPO_ROOT / "dbt_project" / "models" / "staging" / "_raw__sources.yml"

_HEADER = """\
# GENERATED from sources/*.yml by `saas-warehouse sources generate`: edit the declarations,
# not this file (tests/test_sources.py fails when the two differ).
#
# The typed tables the loaders (ingest_loaders/) fill from the daily exports of docs/contract.md §3.
# Staging models are the only place that reads them. `meta.dagster.asset_key` ties each
# source to the Dagster asset that loads it.
version: 2

sources:
  - name: raw
    description: Exports loaded as delivered, one table per source, plus lineage columns.
    database: raw
    schema: raw
    config:
      loaded_at_field: _loaded_at
    tables:
"""


def _text(value: str) -> str:
    """A YAML scalar on one line: JSON strings are valid YAML."""
    return json.dumps(value, ensure_ascii=False)


def _table(source: Source) -> list[str]:
    lines = [
        f"      - name: {source.name}",
        f"        description: {_text(source.description)}",
        "        config:",
        f"          meta: {{dagster: {{asset_key: [\"raw\", \"{source.name}\"]}}}}",
        "          freshness:",
        f"            warn_after: {{count: {source.freshness.warn_after_hours}, period: hour}}",
        f"            error_after: {{count: {source.freshness.error_after_hours}, period: hour}}",
        "        columns:",
    ]
    for column in source.columns:
        lines.append(f"          - name: {column.name}")
        lines.append(f"            data_type: {_text(column.ch_type)}")
        lines.append(f"            description: {_text(column.description)}")
    for name, ch_type in LINEAGE_COLUMNS:
        doc = "{{ doc('raw" + name + "') }}"
        lines.append(f"          - {{name: {name}, data_type: {_text(ch_type)}, "
                     f"description: {_text(doc)}}}")
    return lines


def render_dbt_sources(sources: dict[str, Source]) -> str:
    tables = [line for source in sources.values() for line in [*_table(source), ""]]
    return _HEADER + "\n".join(tables[:-1]) + "\n"


def write_dbt_sources(sources: dict[str, Source], path: Path = DBT_SOURCES_FILE) -> bool:
    """Write the file if it differs; True when it changed."""
    text = render_dbt_sources(sources)
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
