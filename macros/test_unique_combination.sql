{#-
    Generic test: no two rows share the same values of `columns` (a composite primary key).
    dbt hub packages (dbt_utils) are not reachable from here, so the project carries its own.
    Usage in YAML (model level):
        data_tests:
          - unique_combination:
              arguments: {columns: [tenant_id, activity_date]}
-#}
{% test unique_combination(model, columns) %}
select
    {{ columns | join(', ') }},
    count() as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having n_rows > 1
{% endtest %}
