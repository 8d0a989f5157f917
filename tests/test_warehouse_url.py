"""WAREHOUSE_URL and LANDING_URL: one parser for every consumer, and the scheme decides TLS.

The listener tests start a plain TCP server that records what arrives: an `https://` URL must
reach it as a TLS handshake with no credential in clear, whichever the port; an `http://` URL
sends its Basic credentials in clear (which proves the listener sees them when they are sent).
"""

from __future__ import annotations

import base64
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from clickhouse_connect.driver.exceptions import OperationalError

from saas_warehouse.settings import Settings
from saas_warehouse.urls import LandingUrl, WarehouseUrl
from saas_warehouse.warehouse import get_client, open_warehouse

SECRET = "secretpw"
SECRET_FORMS = (SECRET.encode(), base64.b64encode(f"loader:{SECRET}".encode()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chdb:///srv/wh", WarehouseUrl("chdb", path="/srv/wh")),
        ("chdb:///srv/my%20wh", WarehouseUrl("chdb", path="/srv/my wh")),
        ("http://ch.internal", WarehouseUrl("http", host="ch.internal", port=8123)),
        ("https://ch.internal", WarehouseUrl("https", host="ch.internal", port=8443)),
        ("https://u:p@ch.internal:18443",
         WarehouseUrl("https", host="ch.internal", port=18443, user="u", password="p")),
        ("http://u:p@ch.internal:8443",  # the port never turns TLS on
         WarehouseUrl("http", host="ch.internal", port=8443, user="u", password="p")),
        ("HTTPS://U:p@CH.internal/", WarehouseUrl("https", host="ch.internal", port=8443,
                                                   user="U", password="p")),
        ("https://loader:p%40ss%2Fw%3Ard%25@h",
         WarehouseUrl("https", host="h", port=8443, user="loader", password="p@ss/w:rd%")),
        ("https://only-user@h:9", WarehouseUrl("https", host="h", port=9, user="only-user")),
        ("http://u:@h", WarehouseUrl("http", host="h", port=8123, user="u")),
        ("http://u:p@[::1]:8124/analytics",
         WarehouseUrl("http", host="::1", port=8124, user="u", password="p",
                      database="analytics")),
    ],
)
def test_parse(text: str, expected: WarehouseUrl) -> None:
    url = WarehouseUrl.parse(text)
    assert url == expected
    assert url.secure == (expected.scheme == "https")
    assert url.embedded == (expected.scheme == "chdb")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "unknown scheme"),
        ("/srv/wh", "unknown scheme"),
        (f"clickhouse://u:{SECRET}@h:9000", "unknown scheme"),
        ("chdb://", "absolute directory"),
        ("chdb:///", "absolute directory"),
        ("chdb://relative/wh", "absolute directory"),
        ("chdb:///wh?config-file=/c.xml", "absolute directory"),
        (f"https://u:{SECRET}@", "no host"),
        (f"https://u:{SECRET}@h:port", "port must be a number"),
        (f"https://u:{SECRET}@h:70000", "port must be a number"),
        (f"https://u:{SECRET}@h:0", "port must be a number"),
        (f"https://u:{SECRET}@h/a/b", "only /database"),
        (f"https://u:{SECRET}@h?secure=false", "only /database"),
        ("https://u:secret/pw@h", "percent-encode"),  # an unencoded / in the password
        ("https://u:12/secretpw@h", "percent-encode"),  # … that would read as host u, port 12
        (f"https://u:{SECRET}@[::1", "Invalid IPv6"),
    ],
)
def test_bad_urls_are_refused_without_showing_the_password(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error) as refused:
        WarehouseUrl.parse(text)
    assert SECRET not in str(refused.value) and "secret/pw" not in str(refused.value)


def test_the_password_is_never_shown() -> None:
    url = WarehouseUrl.parse(f"https://loader:{SECRET}@ch.internal")
    assert url.password == SECRET
    assert url.redacted() == "https://loader:***@ch.internal:8443"
    for shown in (repr(url), str(url), f"{url}", url.redacted(),
                  repr(Settings(warehouse_url=f"https://loader:{SECRET}@h", landing_url="/l",
                                dagster_home="/d"))):
        assert SECRET not in shown


def test_with_login_keeps_the_server_and_its_tls() -> None:
    url = WarehouseUrl.parse(f"https://loader:{SECRET}@ch.internal:18443")
    tenant = url.with_login("tenant_t1", "t1-pw")
    assert (tenant.secure, tenant.host, tenant.port) == (True, "ch.internal", 18443)
    assert (tenant.user, tenant.password) == ("tenant_t1", "t1-pw")


def test_settings_parse_the_warehouse_url_once() -> None:
    settings = Settings.from_env({"WAREHOUSE_URL": f"https://loader:{SECRET}@h"})
    assert settings.warehouse is settings.warehouse
    assert settings.warehouse.secure
    assert Settings.from_env({}).warehouse.embedded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://bucket", LandingUrl(bucket="bucket")),
        ("s3://bucket/daily/exports/", LandingUrl(bucket="bucket", prefix="daily/exports")),
        ("file:///srv/landing%20zone", LandingUrl(directory=Path("/srv/landing zone"))),
        ("/srv/landing", LandingUrl(directory=Path("/srv/landing"))),
    ],
)
def test_landing_url(text: str, expected: LandingUrl) -> None:
    assert LandingUrl.parse(text) == expected


@pytest.mark.parametrize(("text", "error"), [("s3://", "no bucket"), ("gs://b/p", "use s3://")])
def test_bad_landing_urls(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        LandingUrl.parse(text)


class _Recorder(socketserver.BaseRequestHandler):
    """Records what a client sends, answers nothing and hangs up."""

    def handle(self) -> None:
        # Hang up with a reset: no TIME_WAIT keeps the port (8443 below) from the next run.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.settimeout(0.5)
        try:
            while chunk := self.request.recv(65536):
                self.server.received.append(chunk)  # type: ignore[attr-defined]
        except OSError:  # quiet for 0.5 s: the client waits for an answer that never comes
            pass


class _Listener(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Recorder)
        self.received: list[bytes] = []

    @property
    def bytes(self) -> bytes:
        return b"".join(self.received)


@contextmanager
def _listening(server: _Listener) -> Iterator[_Listener]:
    """Serves on a daemon thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def listener() -> Iterator[_Listener]:
    with _listening(_Listener()) as server:
        yield server


def _port(server: _Listener) -> int:
    return server.server_address[1]


def _assert_tls_only(server: _Listener) -> None:
    received = server.bytes
    assert received, "the client never reached the listener"
    assert received[0] == 0x16, received[:40]  # a TLS handshake record: the ClientHello
    assert b"Authorization" not in received
    for secret in SECRET_FORMS:
        assert secret not in received


def test_https_sends_no_credential_in_clear(listener: _Listener) -> None:
    url = f"https://loader:{SECRET}@127.0.0.1:{_port(listener)}"
    with pytest.raises(OperationalError, match="SSL") as failed, open_warehouse(url):
        pass
    assert SECRET not in str(failed.value)
    _assert_tls_only(listener)


def test_http_sends_the_credentials_the_listener_sees(listener: _Listener) -> None:
    """The control: the same listener does see credentials sent in clear."""
    with pytest.raises(OperationalError):  # the listener hangs up
        get_client(f"http://loader:{SECRET}@127.0.0.1:{_port(listener)}")
    received = listener.bytes
    assert b"Authorization: Basic " + SECRET_FORMS[1] in received


def test_http_on_port_8443_stays_plain() -> None:
    """The port never decides TLS (clickhouse-connect would turn it on for 8443)."""
    try:
        server = _Listener(8443)
    except OSError:
        pytest.skip("port 8443 is taken on this machine")
    with _listening(server), pytest.raises(OperationalError):
        get_client(f"http://loader:{SECRET}@127.0.0.1:8443")
    assert server.bytes.startswith(b"POST /")


def test_dbt_connects_over_tls_from_an_https_url(listener: _Listener) -> None:
    """dbt's credentials come from the same parser, and dbt-clickhouse's client honours
    `secure`: the connection the plugin opens is TLS too."""
    from dbt.adapters.chdb.connections import ChdbConnectionManager, ChdbCredentials
    from dbt.adapters.contracts.connection import Connection
    from dbt_common.exceptions import DbtRuntimeError

    default_port = ChdbCredentials(url=f"https://loader:{SECRET}@ch.internal", schema="analytics")
    assert (default_port.secure, default_port.port, default_port.driver) == (True, 8443, "http")
    assert (default_port.user, default_port.password) == ("loader", SECRET)
    assert not default_port.embedded and SECRET not in str(default_port.connection_info())
    plain = ChdbCredentials(url="http://ch.internal:8443", schema="analytics")
    assert (plain.secure, plain.port) == (False, 8443)

    credentials = ChdbCredentials(url=f"https://loader:{SECRET}@127.0.0.1:{_port(listener)}",
                                  schema="analytics", connect_timeout=5)
    assert (credentials.secure, credentials.port) == (True, _port(listener))
    connection = Connection(type="chdb", name="listener_test", credentials=credentials)
    with pytest.raises(DbtRuntimeError):
        ChdbConnectionManager.open(connection)
    _assert_tls_only(listener)
