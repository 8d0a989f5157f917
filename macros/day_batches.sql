{#-
    Day batches: a model with `build_in_day_batches=true` builds a long window (a backfill)
    as several INSERTs of at most `run_var('batch_days', 7)` days of its partition column each,
    so its memory is bounded by a batch, not by the window. Exact percentiles and id dedupe
    hold every value of what one INSERT reads: one INSERT over 30 days of 67M API requests
    needs more than 22 GiB.

    This overrides dbt-clickhouse's clickhouse__insert_into, which every table and incremental
    build goes through (first build, --full-refresh and the insert_overwrite scratch table):
    each batch is the model's own SQL filtered on its partition column, so a batch holds
    exactly the rows the whole INSERT would have written for those days, and the model's
    partition_window() reads are narrowed by ClickHouse pushing the filter down. The first
    batch is open below and the last open above, so rows outside the window (a first build,
    a look-ahead) are still written. The batches run before the model's main statement,
    which is the last batch.
-#}
{% macro clickhouse__insert_into(target_relation, sql, has_contract, use_columns_from_sql=False) %}
    {%- set batches = day_batches() if config.get('build_in_day_batches', false) else [] -%}
    {%- if batches | length < 2 -%}
        {{ return(dbt.clickhouse__insert_into(target_relation, sql, has_contract, use_columns_from_sql)) }}
    {%- endif -%}
    {%- set column = config.get('partition_by') -%}
    {%- for low, high in batches -%}
        {%- set conditions = [] -%}
        {%- if low is not none -%}
            {%- do conditions.append(column ~ " >= toDate('" ~ low ~ "')") -%}
        {%- endif -%}
        {%- if high is not none -%}
            {%- do conditions.append(column ~ " < toDate('" ~ high ~ "')") -%}
        {%- endif -%}
        {%- set batch_sql -%}
select * from (
{{ sql }}
) as day_batch
where {{ conditions | join(' and ') }}
        {%- endset -%}
        {%- set insert = dbt.clickhouse__insert_into(target_relation, batch_sql, has_contract, use_columns_from_sql) -%}
        {%- if high -%}
            {%- set last_day = (modules.datetime.date.fromisoformat(high) - modules.datetime.timedelta(days=1)).isoformat() -%}
        {%- endif -%}
        {%- set days = ("days " ~ low ~ " to " ~ last_day) if low and high else (("days up to " ~ last_day) if high else ("days from " ~ low)) -%}
        {{ log(this.identifier ~ ": day batch " ~ loop.index ~ "/" ~ batches | length ~ ", " ~ days, info=True) }}
        {%- if loop.last -%}
            {{ return(insert) }}
        {%- endif -%}
        {%- do run_query(insert) -%}
    {%- endfor -%}
{%- endmacro %}


{#- [(low, high), …]: half-open 'YYYY-MM-DD' bounds cutting the run's window into batches of
    run_var('batch_days') days, the first open below (none) and the last open above; [] when the
    run has no window or the window fits one batch. -#}
{% macro day_batches() -%}
    {%- set bounds = partition_window_bounds() -%}
    {%- set size = run_var('batch_days', 7) | int -%}
    {%- if bounds is none or size < 1 -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set start = modules.datetime.date.fromisoformat(bounds[0]) -%}
    {%- set days = (modules.datetime.date.fromisoformat(bounds[1]) - start).days + 1 -%}
    {%- set cuts = [] -%}
    {%- for offset in range(size, days, size) -%}
        {%- do cuts.append((start + modules.datetime.timedelta(days=offset)).isoformat()) -%}
    {%- endfor -%}
    {%- set batches = [] -%}
    {%- for cut in cuts -%}
        {%- do batches.append((cuts[loop.index0 - 1] if not loop.first else none, cut)) -%}
    {%- endfor -%}
    {%- if cuts -%}
        {%- do batches.append((cuts[-1], none)) -%}
    {%- endif -%}
    {{ return(batches) }}
{%- endmacro %}
