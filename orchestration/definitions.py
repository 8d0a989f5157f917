"""The Dagster code location: assets, checks, resources, sensor and schedule.

`dagster dev` (see workspace.yaml) and `saas-warehouse run` both load these definitions.
"""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import daily_schedule, daily_warehouse_job
from orchestration.raw.assets import bookkeeping_specs, landing_spec, raw_asset
from orchestration.raw.sensors import new_exports_sensor
from orchestration.resources import build_resources
from orchestration.run_records import record_failed_runs, record_succeeded_runs
from orchestration.transform.alerts import kpi_alerts_check
from orchestration.transform.assets import build_dbt_assets, build_dbt_resource
from saas_warehouse.settings import Settings
from saas_warehouse.sources import load_sources


def build_definitions(
    settings: Settings, loggers: dict[str, dg.LoggerDefinition] | None = None
) -> dg.Definitions:
    sources = list(load_sources().values())
    return dg.Definitions(
        assets=[*map(landing_spec, sources), *map(raw_asset, sources),
                *bookkeeping_specs(sources), build_dbt_assets()],
        asset_checks=[kpi_alerts_check],
        jobs=[daily_warehouse_job],
        schedules=[daily_schedule],
        sensors=[new_exports_sensor, record_succeeded_runs, record_failed_runs],
        resources={**build_resources(settings), "dbt": build_dbt_resource()},
        # One process per run: the embedded engine may be open in one process at a time.
        executor=dg.in_process_executor,
        loggers=loggers,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
