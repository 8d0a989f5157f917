-- One row per API request: duplicated deliveries of a request_id count once.
with

source as (
    select * from {{ source('raw', 'api_requests') }}
),

renamed as (
    select
        request_id,
        tenant_id,
        service,
        endpoint,
        method as http_method,
        status_code,
        status_code >= 500 as is_server_error,
        status_code between 400 and 499 as is_client_error,
        latency_ms,
        request_bytes,
        response_bytes,
        ts as requested_at,
        _partition_date as request_date,
        _loaded_at as loaded_at
    from source
    where _delivery = 1  -- the first delivery of each id that day (the loader marks repeats)
)

select * from renamed
