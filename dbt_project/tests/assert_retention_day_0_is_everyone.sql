-- A cohort is everyone whose first-ever event is on cohort_date: all of them are active on
-- day 0, so retention_rate = 1 there; and no later day retains more than the cohort.
select *
from {{ ref('retention_cohorts') }}
where (day_n = 0 and (retention_rate != 1 or retained_users != cohort_size))
    or retained_users > cohort_size
