{#-
    The array of (metric name, value as Nullable(Float64)) of the columns `metrics`: array-
    joined, one row per metric of each input row, so one query handles every metric.
    Example: array join {{ metric_values(['dau', 'api_error_rate']) }} as metric_value
-#}
{% macro metric_values(metrics) -%}
    [
    {%- for metric in metrics %}
        ('{{ metric }}', toNullable(toFloat64({{ metric }}))){{ ',' if not loop.last }}
    {%- endfor %}
    ]
{%- endmacro %}
