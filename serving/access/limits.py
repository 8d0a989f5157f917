"""The limits of every tenant login (docs/contract.md §6): per-query ceilings and an hourly quota.

Defaults below; override any of them in a TOML file named by
`SAAS_WAREHOUSE_TENANT_LIMITS` (see docs/bi.md), e.g.

    max_execution_time = 300
    queries_per_hour = 5000

Both renderings of the access model (server DDL, embedded users config) read these values,
so the server and the embedded engine enforce the same numbers.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class TenantLimits:
    # Per query. Grafana sends max_execution_time = its query timeout + 5 s (65 s by
    # default), so the ceiling must be at least that.
    max_execution_time: int = 120  # seconds
    max_memory_usage: int = 4 * 2**30  # bytes
    max_rows_to_read: int = 2_000_000_000  # rows a query may read below the bi views
    # Metabase sends max_result_rows up to 1,048,575 (its download limit).
    max_result_rows: int = 1_048_576
    max_result_bytes: int = 2**30
    max_concurrent_queries: int = 8  # per login at once
    # Per login and hour.
    queries_per_hour: int = 20_000
    read_rows_per_hour: int = 100_000_000_000
    execution_seconds_per_hour: int = 3_600

    @classmethod
    def load(cls, path: str | None) -> TenantLimits:
        """The defaults, overridden by the TOML file at `path` (if given)."""
        if not path:
            return cls()
        try:
            values = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ValueError(f"tenant limits file {path}: {e}") from e
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"tenant limits file {path}: unknown key(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(sorted(known))}"
            )
        bad = [k for k, v in values.items() if not isinstance(v, int) or isinstance(v, bool)
               or v < 1]
        if bad:
            raise ValueError(
                f"tenant limits file {path}: {', '.join(bad)} must be whole numbers >= 1 "
                "(0 would mean unlimited)"
            )
        return cls(**values)
