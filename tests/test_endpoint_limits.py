"""A tenant's limits through `serve` (docs/contract.md §6): result ceilings held at the door
in every format a tenant reads, the hourly quota and concurrent queries counted per login at
the door (every engine handle is the same `default` user, so the engine cannot key them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import nullcontext

import pytest
from support.endpoint_server import TOY_TENANTS, Served, build_toy_warehouse, request, serving

from serving.access.limits import TenantLimits
from serving.endpoint.errors import ClickHouseError
from serving.endpoint.tenant_door import Admission, TenantDoor

LIMITS = """
queries_per_hour = 10
max_result_rows = 50
max_result_bytes = 100000
max_concurrent_queries = 1
"""


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("endpoint_limits")
    url = build_toy_warehouse(root / "warehouse")
    with serving(url, root, TOY_TENANTS, limits=LIMITS) as served:
        yield served


@pytest.mark.parametrize("fmt", ["TabSeparated", "Native", "JSON", "JSONEachRow",
                                 "RowBinaryWithNamesAndTypes", "Parquet"])
def test_one_big_block_stops_at_the_result_ceiling(limited: Served, fmt: str) -> None:
    status, headers, body = request(limited, f"SELECT arrayJoin(range(100)) FORMAT {fmt}",
                                    user="tenant_tnt_a")
    assert (status, headers["x-clickhouse-exception-code"]) == (500, "396"), body
    assert b"Limit for result exceeded" in body


def test_break_mode_cuts_and_settings_stay_below_the_ceiling(limited: Served) -> None:
    status, _, body = request(limited, "SELECT arrayJoin(range(100))", user="tenant_tnt_b",
                              params={"result_overflow_mode": "break"})
    assert (status, body.count(b"\n")) == (200, 50)
    status, headers, _ = request(limited, "SELECT 1", user="tenant_tnt_b",
                                 params={"max_result_rows": "51"})
    assert (status, headers["x-clickhouse-exception-code"]) == (403, "452")
    # The analyst has no ceiling.
    status, _, body = request(limited, "SELECT arrayJoin(range(100))", user="analyst")
    assert (status, body.count(b"\n")) == (200, 100)


def test_the_hourly_quota_is_per_login(limited: Served) -> None:
    answers = [request(limited, "SELECT 1", user="tenant_tnt_c")[:2] for _ in range(11)]
    assert [status for status, _ in answers] == [200] * 10 + [429]
    assert answers[-1][1]["x-clickhouse-exception-code"] == "201"
    assert request(limited, "SELECT 1", user="tenant_tnt_b")[0] == 200  # another login


def test_concurrent_queries_are_per_login(limited: Served) -> None:
    statuses: list[tuple[int, str]] = []

    def slow(user: str) -> None:
        status, headers, _ = request(limited, "SELECT sleep(1)", user=user)
        statuses.append((status, headers.get("x-clickhouse-exception-code", "")))

    threads = [threading.Thread(target=slow, args=("tenant_tnt_a",)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [(200, ""), (429, "202")]


def test_a_query_the_door_runs_again_is_one_query_of_the_quota() -> None:
    """While a dbt build replaces bi views, the door runs a tenant's query again (up to ~30
    times): those runs are the one query the tenant asked for, so they neither count against
    its hourly queries nor are refused when that query was its last. A request refused at the
    door stays refused when it is run again: re-runs are not a way past the quota."""
    door = TenantDoor(TenantLimits(queries_per_hour=2), fresh_handle=nullcontext)
    with door._counted("tenant_tnt_a", Admission()):
        pass
    last = Admission()
    for _ in range(30):  # the second query, run again
        with door._counted("tenant_tnt_a", last):
            pass
    over = Admission()
    for _ in range(3):  # the third, refused each time it is run again
        with pytest.raises(ClickHouseError, match="queries = 2/2"):
            with door._counted("tenant_tnt_a", over):
                pass
    assert not over.admitted
