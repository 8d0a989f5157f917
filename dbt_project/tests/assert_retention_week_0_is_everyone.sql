-- A weekly cohort is everyone whose first-ever event falls in cohort_week: all of them are
-- active in week 0, so retention_rate = 1 there; and no later week retains more.
select *
from {{ ref('retention_weekly') }}
where (week_n = 0 and (retention_rate != 1 or retained_users != cohort_size))
    or retained_users > cohort_size
