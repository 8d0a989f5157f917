{#-
    The next row's `column` in `partition_by` ordered by `column`, NULL on the last row: SQL's
    lead(). ClickHouse's leadInFrame reads only the window frame, hence the frame to the end.
    Example: {{ next_in_order('activity_date', 'tenant_id, user_id') }} as next_activity_date
-#}
{% macro next_in_order(column, partition_by) -%}
    leadInFrame(toNullable({{ column }}), 1, null) over (
        partition by {{ partition_by }} order by {{ column }}
        rows between current row and unbounded following
    )
{%- endmacro %}
