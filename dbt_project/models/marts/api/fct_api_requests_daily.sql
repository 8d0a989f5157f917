{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='request_date',
        order_by=['tenant_id', 'request_date', 'service'],
        tags=['daily'],
        build_in_day_batches=true,
    )
}}

-- One row per (tenant, day, service) with API requests: volume, errors, latency
-- percentiles (exact, linear interpolation) and bytes.
with

requests as (
    select * from {{ ref('stg_raw__api_requests') }}
    where {{ partition_window('request_date') }}
),

service_days as (
    select
        tenant_id,
        request_date,
        service,
        toUInt64(count()) as requests,
        toUInt64(countIf(is_server_error)) as errors_5xx,
        toUInt64(countIf(is_client_error)) as errors_4xx,
        quantilesExactInclusive(0.5, 0.95, 0.99)(latency_ms) as latency_quantiles,
        toFloat64(latency_quantiles[1]) as latency_p50_ms,
        toFloat64(latency_quantiles[2]) as latency_p95_ms,
        toFloat64(latency_quantiles[3]) as latency_p99_ms,
        toInt64(sum(request_bytes)) as request_bytes,
        toInt64(sum(response_bytes)) as response_bytes
    from requests
    group by tenant_id, request_date, service
),

final as (
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
    from service_days
)

select * from final
