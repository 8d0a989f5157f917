-- dau <= wau <= mau on every tenant-day, and dau > 0 exactly when there were product events.
select *
from {{ ref('kpi_tenant_daily') }}
where not (dau <= wau and wau <= mau)
    or (dau = 0) != (events = 0)
