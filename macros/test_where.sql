{#-
    dbt data tests' `where` config, with one addition: `__partition_window__(column[, lookback,
    lookahead])` in it becomes partition_window_where(column, lookback, lookahead)
    (macros/partition_window.sql) when the test runs. dbt renders a test's `where` at parse
    time, where project macros are not available; this override of dbt's get_where_subquery
    (the documented hook for custom `where` logic) expands the placeholder at run time.
    Example (a daily model's primary key, tested on the run's days; everything on a build
    without a window or with --full-refresh):
        - name: event_id
          data_tests:
            - unique:
                config: {where: "__partition_window__(event_date)"}
-#}
{% macro get_where_subquery(relation) -%}
    {%- set ns = namespace(where=config.get('where', '')) -%}
    {%- if not ns.where -%}
        {% do return(relation) %}
    {%- endif -%}
    {%- for args in modules.re.findall('__partition_window__\\(([^)]*)\\)', ns.where) -%}
        {%- set parts = args.split(',') | map('trim') | list -%}
        {%- set condition = partition_window_where(*parts) -%}
        {%- set ns.where = ns.where.replace('__partition_window__(' ~ args ~ ')', '(' ~ condition ~ ')') -%}
    {%- endfor -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ ns.where }}) dbt_subquery
    {%- endset -%}
    {% do return(filtered) %}
{%- endmacro %}
