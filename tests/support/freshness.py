"""Freshness as `dagster dev` computes it for the UI: one real iteration of Dagster's freshness
daemon over the project's code location, at a chosen time."""

from __future__ import annotations

import sys

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import (
    InProcessTestWorkspaceLoadTarget,
    create_test_daemon_workspace_context,
    freeze_time,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._daemon.freshness import FreshnessDaemon

from saas_warehouse.settings import REPO_ROOT


def freshness_at(instance: dg.DagsterInstance, when: float,
                 keys: list[dg.AssetKey]) -> dict[dg.AssetKey, FreshnessState]:
    """The freshness states after one iteration of the daemon at `when` (a timestamp)."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, working_directory=str(REPO_ROOT),
                             module_name="orchestration.definitions", attribute="defs"),
        location_name="saas_warehouse")
    with freeze_time(when), create_test_daemon_workspace_context(
            InProcessTestWorkspaceLoadTarget(origin), instance) as workspace:
        list(FreshnessDaemon().run_iteration(workspace))
    records = instance.get_freshness_state_records(keys)
    return {key: records[key].freshness_state if key in records else FreshnessState.UNKNOWN
            for key in keys}
