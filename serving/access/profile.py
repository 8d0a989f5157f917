"""The one definition of what a tenant login may do: its settings profile and its quota.

`server.py` renders it as DDL for a ClickHouse server, `embedded.py` as a users config the
embedded engine loads; `tests/test_access_renderings.py` proves the two enforce the same.

The settings BI drivers send with each query are changeable in read-only mode, each limit
bounded by MIN 1 (0 would mean unlimited) and MAX its ceiling; every other setting is fixed.
Where each one comes from is listed in docs/bi.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from serving.access.limits import TenantLimits


@dataclass(frozen=True)
class SettingRule:
    name: str
    value: int | str | None = None  # the login's value; None keeps the engine's default
    min: int | None = None
    max: int | None = None
    changeable: bool = False  # may be changed in read-only mode (within min/max)


@dataclass(frozen=True)
class Quota:
    interval_seconds: int
    queries: int
    read_rows: int
    execution_time: int  # seconds


# Sent by BI drivers, harmless to change: output formats, time zone, progress reporting.
# Metabase (clickhouse-jdbc): result_overflow_mode, session_timezone.
# Grafana (clickhouse-go): limit (when its row limit is on).
# clickhouse-connect (Superset): the rest.
BI_FORMAT_SETTINGS = (
    "result_overflow_mode",
    "session_timezone",
    "limit",
    "date_time_input_format",
    "cast_string_to_dynamic_use_inference",
    "cancel_http_readonly_queries_on_client_close",
    "enable_http_compression",
    "send_progress_in_http_headers",
    "output_format_arrow_string_as_string",
)


# A tenant's expressions run only on rows its row policy kept (docs/bi.md, "Why no other
# tenant's row reaches a tenant's expressions"). The policy on a `bi` view is a filter step
# above the view's read; by default the engine merges the query's WHERE with it and moves the
# result into PREWHERE, ordered by cost, so a predicate that can fail (a cast, throwIf,
# intDiv) ran on every tenant's rows and its error carried their values out. Fixed, so:
# - no condition moves into PREWHERE (where conditions are reordered);
# - filters are neither pushed below the policy's step nor merged with it: that step removes
#   the other tenants' rows before any step the query added runs;
# - inside one expression, a conjunct runs only on rows the earlier ones kept.
EVALUATION_ORDER = (
    SettingRule("optimize_move_to_prewhere", value=0),
    SettingRule("query_plan_optimize_prewhere", value=0),
    SettingRule("query_plan_filter_push_down", value=0),
    SettingRule("query_plan_merge_filters", value=0),
    SettingRule("short_circuit_function_evaluation", value="force_enable"),
)


def _limit(name: str, ceiling: int) -> SettingRule:
    return SettingRule(name, value=ceiling, min=1, max=ceiling, changeable=True)


def tenant_profile(limits: TenantLimits) -> tuple[SettingRule, ...]:
    """The tenant settings profile, in the order the DDL lists it."""
    return (
        SettingRule("readonly", value=1),
        # Grafana sends it with every query; tenants may lower it, never raise it.
        _limit("max_execution_time", limits.max_execution_time),
        # Metabase sends it with every query (its row limit).
        _limit("max_result_rows", limits.max_result_rows),
        _limit("max_result_bytes", limits.max_result_bytes),
        _limit("max_memory_usage", limits.max_memory_usage),
        _limit("max_rows_to_read", limits.max_rows_to_read),
        SettingRule("max_concurrent_queries_for_user", value=limits.max_concurrent_queries),
        # chDB turns introspection on by default; tenants never need it (the guard refuses
        # the functions too).
        SettingRule("allow_introspection_functions", value=0),
        # clickhouse-connect sends 10 000-120 000 ms.
        SettingRule("http_headers_progress_interval_ms", min=10_000, max=120_000,
                    changeable=True),
        *(SettingRule(name, changeable=True) for name in BI_FORMAT_SETTINGS),
        *EVALUATION_ORDER,
    )


def tenant_quota(limits: TenantLimits) -> Quota:
    return Quota(
        interval_seconds=3600,
        queries=limits.queries_per_hour,
        read_rows=limits.read_rows_per_hour,
        execution_time=limits.execution_seconds_per_hour,
    )
