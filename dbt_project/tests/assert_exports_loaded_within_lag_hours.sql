-- Warns when a day of the run was loaded more than `ops_load_lag_warn_hours` (dbt_project.yml)
-- after its export landed: the sensor loads a new export within minutes, the schedule by the
-- next morning. A backfill of exports that landed long ago warns too: their lag is real.
{{ config(severity='warn') }}

select source, date, landed_at, loaded_at, load_lag_seconds
from {{ ref('ops_pipeline_daily') }}
where load_lag_seconds > {{ var('ops_load_lag_warn_hours') }} * 3600
    and {{ partition_window_where('date') }}
