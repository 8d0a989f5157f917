# Two commands for a new user: `make demo` and `make test`. Both install what they need
# into .venv from this repository's own files.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# Python caches the project's compiled modules (__pycache__/, ignored by git) even where the
# environment says not to: the tests start many Python processes (the CLI, dbt, serve), and
# each would compile the project's modules again.
unexport PYTHONDONTWRITEBYTECODE

# Two pytest workers, each handed the next test as it finishes one, in the order of
# tests/conftest.py (longest first). The shared built warehouses are built once for both.
PYTEST_WORKERS := -n 2 --dist load --maxschedchunk 1

.PHONY: install demo test test-fast ci screenshots lint lint-python lint-sql dev bench bench-scale clean chromium superset-demo

# uv installs the same versions as pip would from pyproject.toml, several times faster; like
# pip, it compiles the bytecode at install (else each of the tests' many processes compiles
# what it imports first).
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	touch $(INSTALLED)

install: $(INSTALLED)

## Generate 30 days of sample exports, load and build them on the embedded engine.
demo: $(INSTALLED)
	$(BIN)/saas-warehouse demo

## Lint and type checks, then the test suite: real chDB, real dbt, real Dagster runs, a
## local S3 server.
test: lint chromium
	$(BIN)/pytest $(PYTEST_WORKERS) --durations=15

## The inner loop (under a minute here): unit and single-load tests, no full builds (-m "not slow").
test-fast: $(INSTALLED)
	$(BIN)/pytest $(PYTEST_WORKERS) -m "not slow" -q --durations=5

## A pull request's dbt CI: the models changed since BASE and everything downstream, with
## their tests (docs/ci.md).
BASE ?= main
ci: $(INSTALLED)
	$(BIN)/saas-warehouse ci --base $(BASE)

## Refresh docs/screenshots/ (tests write theirs to a temporary directory).
screenshots: chromium $(INSTALLED)
	SAAS_WAREHOUSE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q \
	  tests/test_report.py::test_report_screenshots tests/test_dagster_ui.py \
	  tests/test_sources.py::test_a_sixth_source_is_one_declaration_and_one_staging_model

## ruff (Python), mypy (types), sqlfluff (dbt models, ClickHouse dialect; the dbt templater
## compiles against a throwaway embedded warehouse, never .warehouse). The Python and the SQL
## checks run side by side (each takes one core for ~15 s).
lint: $(INSTALLED)
	$(MAKE) --no-print-directory -j2 lint-python lint-sql

lint-python: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

lint-sql: $(INSTALLED)
	cd dbt_project && WAREHOUSE_URL=chdb://$$(mktemp -d)/lint ../$(BIN)/sqlfluff lint models

## Headless Chromium for the screenshot tests (report, Dagster UI): installed when missing
## and running as root on Debian/Ubuntu; otherwise those tests skip and say why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && apt-get install -y -qq chromium; } \
	  || echo "chromium not installed: screenshot tests will be skipped (apt-get install chromium)"

## The embedded warehouse behind `saas-warehouse serve` on 127.0.0.1:8123 (BI tools, a shell
## `dbt build`, `query`), and the Dagster UI on http://127.0.0.1:3000 running through it.
dev: $(INSTALLED)
	mkdir -p .dagster && test -f .dagster/dagster.yaml || cp dagster.yaml .dagster/dagster.yaml
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster} $(BIN)/python -m serving.endpoint.dev

## Apache Superset on the demo warehouse as ONE tenant (not part of `make test`; minutes):
## Superset and clickhouse-connect in their own venv (.superset-venv: Superset pins SQLAlchemy
## 1.4 and pandas 2.1), `serve` on 127.0.0.1:8123 with `make dev`'s logins, a chart on
## bi.kpi_tenant_daily rendered in headless Chromium → docs/screenshots/superset-tenant-chart.png.
superset-demo: $(INSTALLED) chromium
	$(BIN)/python scripts/superset_demo.py

## Benchmarks (slow, ~30 min; figures go to BENCHMARKS.md): the loader, days loaded at a
## time, the pipeline (30-day backfill, daily incremental cost after 10 vs 59 days, dashboard
## latency), the access model at 10,000 tenants, what tenant isolation costs a dashboard, and
## `serve` vs in-process (a tenant's dashboard, 8 tenants while a day loads, a backfill).
bench: $(INSTALLED)
	$(BIN)/python -m bench.loader
	$(BIN)/python -m bench.load_workers
	$(BIN)/python -m bench.pipeline --inc-history 10,59 --inc-repeat 2
	$(BIN)/python -m bench.access --tenants 10,10000 --repeat 20 --rounds 3
	$(BIN)/python -m bench.isolation
	$(BIN)/python -m bench.serve

## Issue 27's scale run (~30 min, ~10 GB of disk in a temp dir): a 100M-row day over 10,000
## tenants, with its plot (docs/scale.svg).
bench-scale: $(INSTALLED)
	$(BIN)/python -m bench.scale

clean:
	rm -rf .warehouse .dagster data/landing dbt_project/target
