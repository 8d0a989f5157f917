"""Transform layer: the dbt project as Dagster assets (staging → analytics → bi)."""
