-- No benchmark group describes fewer than 5 tenants, and quartiles are ordered.
select *
from {{ ref('benchmarks_daily') }}
where tenants < 5
    or not (p25 <= p50 and p50 <= p75)
