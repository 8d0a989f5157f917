"""The dbt project for `dagster-dbt project prepare-and-package --file <this file>`, which
parses its manifest at build time (with this environment's dbt on PATH). Nothing imports this
module: the CLI finds the DbtProject among its globals, and making it reads dbt_project.yml."""

from orchestration.transform.project import new_dbt_project

DBT_PROJECT = new_dbt_project()
