"""Garbage on the wire, huge headers and bodies that do not decode get a 4xx (or the
connection is dropped) and `serve` stays up: a bounded fuzz over raw sockets."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest
from support.endpoint_server import TOY_TENANTS, Served, build_toy_warehouse, request, serving


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("endpoint_bad_requests")
    with serving(build_toy_warehouse(root / "warehouse"), root, TOY_TENANTS) as server:
        yield server


def exchange(served: Served, raw: bytes) -> bytes:
    """What the server answers to `raw` (b"" when it just closes the connection)."""
    answer = b""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as connection:
        try:
            connection.sendall(raw)
            connection.shutdown(socket.SHUT_WR)
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:  # dropped (a huge header: the server stops reading)
            pass
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def test_garbage_and_huge_headers_get_4xx_and_the_server_stays_up(served: Served) -> None:
    rng = random.Random(26)
    cases = [
        b"\x00\xff garbage\r\n\r\n",
        b"GET /?query=SELECT+1 HTTP/9.9\r\n\r\n",  # no login: 401
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n",
        *(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))) + b"\r\n\r\n"
          for _ in range(30)),
    ]
    for raw in cases:
        answer = exchange(served, raw)
        assert answer == b"" or 400 <= status_of(answer) < 500, (raw[:60], answer[:200])
    assert request(served, "SELECT 1")[2] == b"1\n"


@pytest.mark.parametrize("headers,params", [
    ({"Content-Encoding": "gzip"}, {}),
    ({"Content-Encoding": "br-unknown"}, {}),
    ({}, {"decompress": "1"}),
])
def test_bodies_that_do_not_decode_are_refused(served: Served, headers, params) -> None:
    status, answer_headers, body = request(served, b"\x1f\x8b not really compressed",
                                           headers=headers, params=params)
    assert (status, answer_headers["x-clickhouse-exception-code"]) == (400, "271"), body
