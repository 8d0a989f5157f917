{#-
    Generic test: no two rows share the same values of `columns` (a composite primary key).
    dbt hub packages (dbt_utils) are not reachable from here, so the project carries its own.
    In two phases, as the `unique` test (macros/test_unique.sql): the 64-bit hashes of the
    keys first (3-5x faster than grouping the strings), then the exact keys of the rows
    whose hash repeats. A key with a NULL hashes to NULL: ifNull sends those to phase 2 too.
    Usage in YAML (model level):
        data_tests:
          - unique_combination:
              arguments: {columns: [tenant_id, activity_date]}
-#}
{% test unique_combination(model, columns) %}
{%- set key_hash = 'ifNull(cityHash64(' ~ (columns | join(', ')) ~ '), 0)' -%}
with repeated_hashes as (
    select {{ key_hash }} as value_hash
    from {{ model }}
    group by value_hash
    having count() > 1
)

select
    {{ columns | join(', ') }},
    count() as n_rows
from {{ model }}
where {{ key_hash }} in repeated_hashes
group by {{ columns | join(', ') }}
having n_rows > 1
{% endtest %}
