-- Every user active on a day is new, returning or resurrecting, exactly one of them.
-- It reads several models: the one it checks in Dagster (an asset check) is named here.
{{ config(meta={'dagster': {'ref': {'name': 'user_lifecycle_daily'}}}) }}
select
    lifecycle.tenant_id,
    lifecycle.date,
    lifecycle.new_users,
    lifecycle.returning_users,
    lifecycle.resurrecting_users,
    kpis.dau
from {{ ref('user_lifecycle_daily') }} as lifecycle
inner join {{ ref('kpi_tenant_daily') }} as kpis
    on lifecycle.tenant_id = kpis.tenant_id
    and lifecycle.date = kpis.date
where lifecycle.resurrecting_users < 0
    or toInt64(lifecycle.new_users) + toInt64(lifecycle.returning_users)
        + lifecycle.resurrecting_users != toInt64(kpis.dau)
