{#-
    [0, 1, …, n - 1] with n = the days from `column` to `next_column` (the same key's next
    date, NULL on its last), at most `at_most`. Array-joined, each (key, date) row stands for
    the days up to the key's next date, so a rolling window of `at_most` days over them
    counts every key at most once per day: count() instead of a distinct count.
    Example: array join {{ days_until_next('activity_date', 'next_activity_date') }} as days_ago
-#}
{% macro days_until_next(column, next_column, at_most=30) -%}
    range(toUInt32(least({{ at_most }}, coalesce({{ next_column }} - {{ column }}, {{ at_most }}))))
{%- endmacro %}
