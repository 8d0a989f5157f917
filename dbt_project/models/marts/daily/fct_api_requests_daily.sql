{{ config(partition_by='request_date', order_by=['tenant_id', 'request_date', 'service'], build_in_day_batches=true) }}

-- The API numbers of a (tenant, day) at two grains in one pass over the requests (reading
-- tens of millions of requests is the expensive part, so it is done once):
-- per service (is_tenant_total = false) and over all services (true, service = ''), each with
-- its own exact percentiles: a tenant's p95 is over all its requests, not a mix of services'.
with

requests as (
    select * from {{ ref('stg_api__requests') }}
    where {{ partition_window('request_date') }}
),

rollup as (
    select
        tenant_id,
        request_date,
        service,
        grouping(service) = 1 as is_tenant_total,
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
    group by grouping sets ((tenant_id, request_date, service), (tenant_id, request_date))
),

final as (
    select
        tenant_id,
        request_date,
        service,
        is_tenant_total,
        requests,
        errors_5xx,
        errors_4xx,
        latency_p50_ms,
        latency_p95_ms,
        latency_p99_ms,
        request_bytes,
        response_bytes
    from rollup
)

select * from final
