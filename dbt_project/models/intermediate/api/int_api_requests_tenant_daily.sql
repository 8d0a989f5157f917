{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='request_date',
        order_by=['tenant_id', 'request_date'],
        tags=['daily'],
        build_in_day_batches=true,
    )
}}

-- One row per (tenant, day) with API requests: the tenant-level API KPIs of
-- bi.kpi_tenant_daily (a tenant's p95 is over all its requests, not a mix of per-service p95s).
with

requests as (
    select
        tenant_id,
        request_date,
        is_server_error,
        latency_ms
    from {{ ref('stg_raw__api_requests') }}
    where {{ partition_window('request_date') }}
),

tenant_days as (
    select
        tenant_id,
        request_date,
        toUInt64(count()) as api_requests,
        toUInt64(countIf(is_server_error)) as api_errors,
        toFloat64(quantileExactInclusive(0.95)(latency_ms)) as api_latency_p95_ms
    from requests
    group by tenant_id, request_date
),

final as (
    select * from tenant_days
)

select * from final
