{#-
    The day window of an incremental run (`start_date`, `end_date` from macros/run_var.sql:
    inclusive, 'YYYY-MM-DD'; one alone means that single day). Every model tagged `daily`
    filters its reads with `partition_window(...)` and is rebuilt for exactly the days its
    output covers (insert_overwrite on a per-day partition).

    partition_window(column, lookback_days=0, lookahead_days=0) renders a WHERE condition:
      - `column between toDate(start) - lookback_days and toDate(end) + lookahead_days`
        on an incremental run with a window;
      - `true` when no window is given or the model is being (re)built from scratch
        (first run, --full-refresh, unit tests): the model then builds everything.
    lookback_days / lookahead_days are integers or any SQL expression that ClickHouse
    evaluates to a constant (e.g. a scalar subquery over a seed).
-#}
{% macro partition_window(column, lookback_days=0, lookahead_days=0) -%}
    {%- set bounds = partition_window_bounds() -%}
    {%- if bounds is none or not is_incremental() -%}
        true
    {%- else -%}
        {{ window_condition(column, bounds, lookback_days, lookahead_days) }}
    {%- endif -%}
{%- endmacro %}


{#- The window's days widened by lookback/lookahead, as a condition on `column`. -#}
{% macro window_condition(column, bounds, lookback_days, lookahead_days) -%}
    {{ column }} between toDate('{{ bounds[0] }}') - ({{ lookback_days }})
        and toDate('{{ bounds[1] }}') + ({{ lookahead_days }})
{%- endmacro %}


{#- (start, end) as 'YYYY-MM-DD' strings, or none when neither var is set. -#}
{% macro partition_window_bounds() -%}
    {%- set start = run_var('start_date') -%}
    {%- set end = run_var('end_date') -%}
    {%- if start is none and end is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set start = (start or end) | string -%}
    {%- set end = (end or start) | string -%}
    {%- for value in [start, end] -%}
        {%- if not modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', value) -%}
            {{ exceptions.raise_compiler_error("partition window: expected YYYY-MM-DD, got '" ~ value ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if start > end -%}
        {{ exceptions.raise_compiler_error("partition window: start_date " ~ start ~ " is after end_date " ~ end) }}
    {%- endif -%}
    {{ return((start, end)) }}
{%- endmacro %}


{#-
    partition_window_where(column, lookback_days=0, lookahead_days=0): the run's window as a
    filter for dbt data tests, so that a daily build tests the days it rebuilt and not all of
    history. Same bounds as partition_window(), but decided by the run, not by a model:
    `true` (test everything) when no window is given or on --full-refresh. Used through the
    test config `where: "__partition_window__(column[, lookback, lookahead])"`, which
    macros/test_where.sql expands (dbt renders `where` before custom macros exist).
-#}
{% macro partition_window_where(column, lookback_days=0, lookahead_days=0) -%}
    {%- set bounds = partition_window_bounds() -%}
    {%- if bounds is none or flags.FULL_REFRESH -%}
        true
    {%- else -%}
        {{ window_condition(column, bounds, lookback_days, lookahead_days) }}
    {%- endif -%}
{%- endmacro %}
