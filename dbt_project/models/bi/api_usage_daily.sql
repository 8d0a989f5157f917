-- docs/contract.md §5 bi.api_usage_daily: one row per (tenant_id, date, service) with requests.
with

service_days as (
    select * from {{ ref('fct_api_requests_daily') }}
),

final as (
    select
        tenant_id,
        request_date as date,
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
    where not is_tenant_total
)

select * from final
