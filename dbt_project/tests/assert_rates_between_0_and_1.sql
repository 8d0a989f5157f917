-- Every rate of the bi views is a fraction in [0, 1].
select 'kpi_tenant_daily.api_error_rate' as rate, api_error_rate as value
from {{ ref('kpi_tenant_daily') }}
where not (api_error_rate between 0 and 1)

union all

select 'funnel_daily.conversion_rate', conversion_rate
from {{ ref('funnel_daily') }}
where not (conversion_rate between 0 and 1)

union all

select 'retention_cohorts.retention_rate', retention_rate
from {{ ref('retention_cohorts') }}
where not (retention_rate between 0 and 1)

union all

select 'benchmarks_daily.api_error_rate', p25
from {{ ref('benchmarks_daily') }}
where metric = 'api_error_rate'
    and not (p25 between 0 and 1 and p50 between 0 and 1 and p75 between 0 and 1)

union all

select 'retention_weekly.retention_rate', retention_rate
from {{ ref('retention_weekly') }}
where not (retention_rate between 0 and 1)

union all

select 'user_lifecycle_daily.stickiness', stickiness
from {{ ref('user_lifecycle_daily') }}
where not (stickiness between 0 and 1)

union all

select 'feature_adoption_daily.adoption_rate_30d', adoption_rate_30d
from {{ ref('feature_adoption_daily') }}
where not (adoption_rate_30d between 0 and 1)
