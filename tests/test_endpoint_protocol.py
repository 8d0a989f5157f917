"""`saas-warehouse serve` speaks ClickHouse's HTTP interface: real clients (clickhouse-connect
over HTTP) and raw requests (urllib/http.client) against a subprocess on a small warehouse.
Expected values are computed in-process before the endpoint starts (one process per
warehouse)."""

from __future__ import annotations

import gzip
import http.client
import json
import struct
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import lz4.block
import pytest
from support.endpoint_server import TOY_TENANTS, Served, build_toy_warehouse, request, serving
from support.framing import cityhash, unframe

from saas_warehouse.warehouse import open_warehouse


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict]]:
    root = tmp_path_factory.mktemp("endpoint_protocol")
    url = build_toy_warehouse(root / "warehouse")
    with open_warehouse(url) as client:
        expected = {
            "kpi": client.query("SELECT tenant_id, day, v FROM bi.kpi ORDER BY ALL").result_rows,
            "fct_rows": client.query("SELECT count() FROM analytics.fct").result_rows[0][0],
        }
    with serving(url, root, TOY_TENANTS) as served:
        yield served, expected


def test_ping_and_banner(toy) -> None:
    served, _ = toy
    assert served.banner.startswith(f"serving {Path(served.banner.split()[1])} at {served.url}")
    assert "admin, analyst" in served.banner and "pw" not in served.banner
    for method, path in (("GET", "/ping"), ("HEAD", "/ping"), ("GET", "/")):
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        connection.request(method, path)
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == (b"Ok.\n" if method == "GET" else b"")


@pytest.mark.parametrize("user,password", [("admin", "wrong-pw-9"), ("nobody", "nobodys-pw-7"),
                                           ("tenant_tnt_a", "pw-tnt_b-1"), ("default", "")])
def test_a_wrong_login_gets_clickhouses_authentication_error(toy, user, password) -> None:
    served, _ = toy
    status, headers, body = request(served, "SELECT 1", user=user, password=password)
    assert status == 401
    assert headers["x-clickhouse-exception-code"] == "516"
    assert body.decode().startswith(
        f"Code: 516. DB::Exception: {user}: Authentication failed: password is incorrect, or "
        "there is no user with such name. (AUTHENTICATION_FAILED)")
    assert password.encode() not in body or not password


def test_every_way_of_logging_in(toy) -> None:
    served, _ = toy
    password = served.password("analyst")
    both = request(served, "SELECT 1", user="analyst", headers={
        "X-ClickHouse-User": "analyst", "X-ClickHouse-Key": password})
    assert both[0] == 401  # Authorization and X-ClickHouse-User together: refused
    for params, headers in [({"user": "analyst", "password": password}, {}),
                            ({}, {"X-ClickHouse-User": "analyst", "X-ClickHouse-Key": password})]:
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        connection.request("POST", "/?" + urllib.parse.urlencode(params), body=b"SELECT 42",
                           headers=headers)
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"42\n")


@pytest.mark.parametrize("sql,status,code", [
    ("SELECT * FROM bi.nope", 404, 60),
    ("SELEC 1", 400, 62),
    ("SELECT throwIf(1, 'boom')", 500, 395),
])
def test_errors_are_clickhouses_own_text_code_and_status(toy, sql, status, code) -> None:
    served, _ = toy
    got_status, headers, body = request(served, sql)
    assert got_status == status
    assert headers["x-clickhouse-exception-code"] == str(code)
    assert body.decode().startswith(f"Code: {code}. DB::Exception: ")


def test_response_headers(toy) -> None:
    served, _ = toy
    status, headers, body = request(served, "SELECT number FROM numbers(3)",
                                    params={"query_id": "q-123", "default_format": "CSV"})
    assert (status, body) == (200, b"0\n1\n2\n")
    assert headers["x-clickhouse-query-id"] == "q-123"
    assert headers["x-clickhouse-format"] == "CSV"
    assert headers["x-clickhouse-timezone"]
    assert headers["x-clickhouse-server-display-name"]
    summary = json.loads(headers["x-clickhouse-summary"])
    assert summary["read_rows"] == "3" and int(summary["elapsed_ns"]) > 0
    assert headers["content-type"].startswith("text/csv")


def test_formats_by_parameter_header_and_clause(toy) -> None:
    served, _ = toy
    _, h1, b1 = request(served, "SELECT 1 AS x", headers={"X-ClickHouse-Format": "JSONEachRow"})
    assert (b1, h1["x-clickhouse-format"]) == (b'{"x":1}\n', "JSONEachRow")
    _, h2, b2 = request(served, "SELECT 1 AS x FORMAT CSVWithNames")
    assert (b2, h2["x-clickhouse-format"]) == (b'"x"\n1\n', "CSVWithNames")
    _, _, b3 = request(served, method="GET", params={"query": "SELECT 2", "default_format": "TSV"})
    assert b3 == b"2\n"


def test_query_parameters_settings_and_database(toy) -> None:
    served, expected = toy
    _, _, body = request(served, "SELECT {t:String}, count() FROM kpi WHERE tenant_id = {t:String}",
                         params={"param_t": "tnt_b", "database": "bi"})
    assert body == f"tnt_b\t{sum(1 for r in expected['kpi'] if r[0] == 'tnt_b')}\n".encode()
    _, _, body = request(served, "SELECT currentDatabase()",
                         headers={"X-ClickHouse-Database": "analytics"})
    assert body == b"analytics\n"
    _, _, body = request(served, "SELECT getSetting('max_threads')", params={"max_threads": "3"})
    assert body == b"3\n"
    status, headers, _ = request(served, "SELECT 1", params={"max_threadz": "3"})
    assert (status, headers["x-clickhouse-exception-code"]) == (400, "115")


def test_get_only_reads(toy) -> None:
    served, _ = toy
    status, headers, body = request(
        served, method="GET", params={"query": "CREATE TABLE raw.x (a UInt8) ENGINE = Memory"})
    assert (status, headers["x-clickhouse-exception-code"]) == (403, "164"), body


def test_sessions_keep_their_settings_and_temporary_tables(toy) -> None:
    served, _ = toy
    session = {"session_id": "s-1"}
    request(served, "CREATE TEMPORARY TABLE tmp (a UInt8)", params=session)
    request(served, "INSERT INTO tmp VALUES (7)", params=session)
    assert request(served, "SELECT a FROM tmp", params=session)[2] == b"7\n"
    assert request(served, "SELECT a FROM tmp")[0] == 404  # another handle: no such table
    # URL settings hold for their query only, in a session too.
    assert request(served, "SELECT getSetting('max_block_size')",
                   params={**session, "max_block_size": "1234"})[2] == b"1234\n"
    assert request(served, "SELECT getSetting('max_block_size') = 1234",
                   params=session)[2] == b"0\n"
    request(served, "SET max_block_size = 4321", params=session)  # a SET lasts
    assert request(served, "SELECT getSetting('max_block_size')", params=session)[2] == b"4321\n"


def test_inserts_with_data_in_the_body(toy) -> None:
    served, _ = toy
    request(served, "CREATE TABLE raw.inserted (a UInt32, b String) ENGINE = MergeTree ORDER BY a")
    status, _, _ = request(served, b"INSERT INTO raw.inserted FORMAT CSV\n1,one\n2,two\n")
    assert status == 200
    client = served.client("admin")
    client.insert("raw.inserted", [[3, "three"], [4, "four"]], column_names=["a", "b"])
    assert client.query("SELECT a, b FROM raw.inserted ORDER BY a").result_rows == [
        (1, "one"), (2, "two"), (3, "three"), (4, "four")]


def test_compressed_bodies_both_ways(toy) -> None:
    served, _ = toy
    sql = "SELECT number, repeat('x', 100) FROM numbers(20000) FORMAT TSV"
    _, _, plain = request(served, sql)
    status, headers, framed = request(served, sql, params={"compress": "1"})
    assert status == 200 and len(framed) < len(plain) and unframe(framed) == plain
    packed = lz4.block.compress(sql.encode(), store_size=False)
    block = struct.pack("<BII", 0x82, 9 + len(packed), len(sql)) + packed
    _, _, body = request(served, cityhash(block) + block, params={"decompress": "1"})
    assert body == plain
    corrupt = cityhash(block)[:-1] + b"\0" + block
    status, headers, _ = request(served, corrupt, params={"decompress": "1"})
    assert (status, headers["x-clickhouse-exception-code"]) == (400, "271")
    _, headers, zipped = request(served, gzip.compress(sql.encode()),
                                 params={"enable_http_compression": "1"},
                                 headers={"Content-Encoding": "gzip", "Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip" and gzip.decompress(zipped) == plain


@pytest.mark.parametrize("compress", [False, True, "zstd", "gzip"])
def test_clickhouse_connect_over_http(toy, compress) -> None:
    served, expected = toy
    client = served.client("admin", compress=compress)
    assert client.server_version
    rows = client.query("SELECT tenant_id, day, v FROM bi.kpi ORDER BY ALL").result_rows
    assert rows == expected["kpi"]
    assert client.query("SELECT count() FROM analytics.fct WHERE day >= {d:Date}",
                        parameters={"d": "2026-03-01"}).result_rows == [(expected["fct_rows"],)]
    frame = client.query_df("SELECT tenant_id, sum(v) AS v FROM bi.kpi GROUP BY 1 ORDER BY 1")
    assert list(frame["v"]) == [sum(r[2] for r in expected["kpi"] if r[0] == t)
                                for t in sorted({r[0] for r in expected["kpi"]})]


def test_two_slow_queries_run_at_once(toy) -> None:
    """Each query sleeps 1 s in the engine and says when the engine started it: run at once,
    both start together; one at a time, the second would start a second after the first.
    (Engine start times, not a wall-clock bound, which a loaded machine stretches.)"""
    served, _ = toy
    starts: list[float] = []

    def slow() -> None:
        [(started, slept)] = served.client("analyst").query(
            "SELECT toFloat64(now64(6)), sleep(1)").result_rows
        assert slept == 0
        starts.append(started)

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(starts) == 2 and abs(starts[0] - starts[1]) < 0.5, starts


def test_the_warehouse_held_by_serve_names_its_url(toy) -> None:
    served, _ = toy
    from saas_warehouse.warehouse import WarehouseLockedError, get_client

    path = served.banner.split()[1]
    with pytest.raises(WarehouseLockedError, match=f"serve` holds it: reach it with "
                       f"WAREHOUSE_URL=http://admin:<password>@127.0.0.1:{served.port}"):
        get_client(f"chdb://{path}")
