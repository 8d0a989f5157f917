"""Stopping a child process politely: SIGTERM (it closes what it holds, e.g. serve's engine),
then SIGKILL if it has not ended in time."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def stop_process(process: subprocess.Popen, timeout: float, *, group: bool = False) -> None:
    """SIGTERM, wait up to `timeout` seconds, then SIGKILL and wait. `group`: signal the
    process group the process leads (started with `start_new_session=True`), so that the
    children it started stop with it (dagster-webserver's, Superset's workers); those still
    there at the deadline are killed too."""
    def send(signum: int) -> bool:
        try:
            if group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
            return True
        except ProcessLookupError:  # nobody left to signal
            return False

    if process.poll() is not None and not group:
        return
    deadline = time.monotonic() + timeout
    send(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()
        return
    while group and send(0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if group:
        send(signal.SIGKILL)
