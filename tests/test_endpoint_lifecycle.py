"""`saas-warehouse serve` starts, refuses what it cannot serve, and stops cleanly: a query in
flight at SIGTERM finishes, the engine is closed (the warehouse opens in-process again) and
the `.serve` file beside the warehouse is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.endpoint_server import REPO, TOY_TENANTS, build_toy_warehouse, request, serving

from saas_warehouse.warehouse import open_warehouse, serve_file
from serving.endpoint.serve import require_loopback


def test_sigterm_lets_the_running_query_finish_and_closes_the_engine(tmp_path: Path) -> None:
    url = build_toy_warehouse(tmp_path / "warehouse")
    answers: list[tuple[int, bytes]] = []
    with serving(url, tmp_path, TOY_TENANTS) as served:
        assert serve_file(tmp_path / "warehouse").read_text().strip() == served.url
        running = threading.Thread(target=lambda: answers.append(
            request(served, "SELECT sleep(2), 'done'", user="analyst")[::2]))
        running.start()
        time.sleep(0.7)
        served.process.send_signal(signal.SIGTERM)
        running.join(timeout=30)
        assert served.process.wait(timeout=40) == 0
        assert "stopping (SIGTERM)" in served.stderr()
    assert answers == [(200, b"0\tdone\n")]
    assert not serve_file(tmp_path / "warehouse").exists()
    with open_warehouse(url) as client:  # the engine was closed: another process opens it
        assert client.query("SELECT count() FROM bi.kpi").result_rows[0][0] > 0


@pytest.mark.parametrize("warehouse_url,message", [
    ("http://admin:pw@127.0.0.1:8123", "serve owns an embedded warehouse: WAREHOUSE_URL must be "
     "chdb:///abs/path, not http://admin:***@127.0.0.1:8123"),
])
def test_serve_refuses_a_server_url(tmp_path: Path, warehouse_url: str, message: str) -> None:
    (tmp_path / "serve.json").write_text('{"admin": "a-pw-1"}')
    env = {**os.environ, "WAREHOUSE_URL": warehouse_url, "PYTHONPATH": str(REPO),
           "SAAS_WAREHOUSE_SERVE_PASSWORDS_FILE": str(tmp_path / "serve.json")}
    done = subprocess.run([sys.executable, "-m", "saas_warehouse_cli", "serve", "--port", "1"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {message} (a ClickHouse server already speaks HTTP")
    assert "pw" not in done.stderr.replace("***", "")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7"])
def test_serve_binds_to_this_machine_only(host: str) -> None:
    """Plain HTTP: a password sent to serve from another machine would cross the network in
    clear, so serve refuses an address other machines reach, before it opens anything."""
    with pytest.raises(ValueError, match="passwords would cross the network in clear"):
        require_loopback(host)
    for loopback in ("127.0.0.1", "localhost", "::1"):
        require_loopback(loopback)
