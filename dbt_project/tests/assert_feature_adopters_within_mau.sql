-- A feature's users are active users: a day's users are within its 30-day adopters, and
-- those within the tenant's mau.
select *
from {{ ref('feature_adoption_daily') }}
where not (users <= adopters_30d and adopters_30d <= mau and new_adopters <= users)
