{#-
    run_var(name, default=none): a setting of this run, `var(name)` when given with
    `--vars '{name: …}'` (from the shell), else the environment variable SAAS_WAREHOUSE_<NAME>
    (how Dagster's dbt step passes a run's window: orchestration/transform/assets.py), else
    `default`.

    Why not --vars from Dagster too: dbt re-parses the whole project whenever the --vars change
    (~4 s on every run of a new window), while an environment variable read only while executing
    (`execute`) is not part of what dbt parsed, so each run keeps the saved partial parse.
-#}
{% macro run_var(name, default=none) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var('SAAS_WAREHOUSE_' ~ (name | upper), '') or none -%}
    {%- endif -%}
    {{ return(default if value is none else value) }}
{%- endmacro %}
