"""The shapes of the generated data the tests load (fixtures in tests/conftest.py)."""

from __future__ import annotations

import datetime as dt

# The small landing zone most load tests copy (`landing_dir`).
SAMPLE_START = dt.date(2026, 3, 1)
SAMPLE_DAYS = 3

# The warehouse the end-to-end tests read (the bi oracle, the report, isolation): 32 days,
# enough for mau (30 days) and retention day 30 (cohorts of days 1 and 2), of 24 tenants, so
# that some (date, plan) groups reach the 5 tenants benchmarks_daily needs and others do not.
BUILT_START = dt.date(2026, 3, 1)
BUILT_DAYS = 32
BUILT_TENANTS = 24
