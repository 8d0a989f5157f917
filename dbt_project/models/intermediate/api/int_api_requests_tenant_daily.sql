{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='request_date',
        order_by=['tenant_id', 'request_date'],
        tags=['daily'],
    )
}}

-- One row per (tenant, day) with API requests: the tenant-level API KPIs of
-- bi.kpi_tenant_daily (a tenant's p95 is over all its requests, not a mix of per-service p95s).
with

tenant_days as (
    select
        tenant_id,
        request_date,
        requests as api_requests,
        errors_5xx as api_errors,
        latency_p95_ms as api_latency_p95_ms
    from {{ ref('int_api_requests_rollup_daily') }}
    where is_tenant_total and {{ partition_window('request_date') }}
),

final as (
    select * from tenant_days
)

select * from final
