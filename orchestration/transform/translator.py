"""How dbt resources appear in Dagster: keys and groups follow the database (schema) each
model builds into, so the graph reads landing → raw → staging → analytics → bi."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from orchestration.partitions import bi_freshness, daily_partitions

OWNERS = ["team:analytics-engineering"]


class WarehouseDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # Sources carry meta.dagster.asset_key = ["raw", <source>]: the loader assets.
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        """Days for the models a run rebuilds day by day; the rest is one asset, not one per
        day of the run (a 30-day backfill planned and recorded 30 events for each view).
        Through the spec, as dagster-dbt's own DbtProjectComponent translates, not through
        its `get_partitions_def`, which it marks internal."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") == "model" and props.get("schema") == "bi":
            spec = spec.replace_attributes(freshness_policy=bi_freshness)  # the daily build's
        if "daily" in props.get("tags", ()):
            return spec.replace_attributes(partitions_def=daily_partitions)
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        return dbt_resource_props["schema"]

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        return OWNERS

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {**super().get_tags(dbt_resource_props), "dagster/kind/clickhouse": ""}
