{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='request_date',
        order_by=['tenant_id', 'request_date', 'service'],
        tags=['daily'],
    )
}}

-- One row per (tenant, day, service) with API requests: volume, errors, latency
-- percentiles (exact, linear interpolation) and bytes.
with

service_days as (
    select
        tenant_id,
        request_date,
        service,
        requests,
        errors_5xx,
        errors_4xx,
        latency_p50_ms,
        latency_p95_ms,
        latency_p99_ms,
        request_bytes,
        response_bytes
    from {{ ref('int_api_requests_rollup_daily') }}
    where not is_tenant_total and {{ partition_window('request_date') }}
),

final as (
    select * from service_days
)

select * from final
