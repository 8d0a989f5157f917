{#-
    dbt's `unique` test on ClickHouse, in two phases so that it stays cheap on tens of millions
    of string ids (the staging views' event_id / request_id over a backfill window):
      1. group the 64-bit hashes of the values (fixed-size keys: about half the time and
         memory of grouping the strings) and keep the hashes seen more than once;
      2. group, exactly, only the values whose hash is in that set — none, when the column is
         unique, and ClickHouse then filters every row out before any grouping.
    Same result as dbt's default test: a hash collision between two different values only
    sends them to phase 2, where they are told apart; equal values always share a hash.
-#}
{% macro clickhouse__test_unique(model, column_name) %}
with repeated_hashes as (
    select cityHash64({{ column_name }}) as value_hash
    from {{ model }}
    where {{ column_name }} is not null
    group by value_hash
    having count(*) > 1
)

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
    and cityHash64({{ column_name }}) in repeated_hashes
group by {{ column_name }}
having count(*) > 1
{% endmacro %}
