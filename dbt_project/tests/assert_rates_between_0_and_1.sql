-- Every rate of the bi views is a fraction in [0, 1].
-- It reads several models: the one it checks in Dagster (an asset check) is named here.
{{ config(meta={'dagster': {'ref': {'name': 'kpi_tenant_daily'}}}) }}
{%- set rates = [
    ('kpi_tenant_daily', 'api_error_rate'),
    ('funnel_daily', 'conversion_rate'),
    ('retention_cohorts', 'retention_rate'),
    ('retention_weekly', 'retention_rate'),
    ('user_lifecycle_daily', 'stickiness'),
    ('feature_adoption_daily', 'adoption_rate_30d'),
] %}
{% for view, column in rates %}
select '{{ view }}.{{ column }}' as rate, {{ column }} as value
from {{ ref(view) }}
where not ({{ column }} between 0 and 1)

union all
{% endfor %}
select 'benchmarks_daily.api_error_rate', p25
from {{ ref('benchmarks_daily') }}
where metric = 'api_error_rate'
    and not (p25 between 0 and 1 and p50 between 0 and 1 and p75 between 0 and 1)
