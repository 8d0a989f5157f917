{#-
    How many days a funnel cohort stays open after its day: ceil(max(window_hours) / 24) over
    the seed funnel_definitions, as a constant SQL expression. A cohort of day d needs events up
    to d + window, so a run for [s, e] rebuilds the cohorts [s - lookback, e] and reads their
    events over [s - lookback, e + lookback].
-#}
{% macro funnel_lookback_days() -%}
    (select toUInt32(intDiv(max(window_hours) + 23, 24)) from {{ ref('funnel_definitions') }})
{%- endmacro %}
