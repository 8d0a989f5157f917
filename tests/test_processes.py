"""stop_process: SIGTERM first, SIGKILL when the process ignores it; a group stop reaches the
children the process started."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from saas_warehouse.processes import stop_process

IGNORES_SIGTERM = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                   "print('ready', flush=True); time.sleep(60)")


def started(code: str, **options) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               **options)
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def test_a_process_that_ends_on_sigterm_is_not_killed() -> None:
    process = started("import time; print('ready', flush=True); time.sleep(60)")
    stop_process(process, 10)
    assert process.returncode == -15  # SIGTERM's default action, not SIGKILL's -9
    stop_process(process, 10)  # an ended process: nothing to do


def test_a_process_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    process = started(IGNORES_SIGTERM)
    began = time.monotonic()
    stop_process(process, 0.5)
    assert process.returncode == -9
    assert 0.5 <= time.monotonic() - began < 10


def test_a_group_stop_reaches_the_children() -> None:
    parent = started(
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', {IGNORES_SIGTERM!r}],"
        " stdout=subprocess.PIPE, text=True)\n"
        "child.stdout.readline()\n"
        "print('ready', flush=True); time.sleep(60)",
        start_new_session=True)
    group = parent.pid
    stop_process(parent, 0.5, group=True)
    assert parent.returncode == -15
    with pytest.raises(ProcessLookupError):  # the child, which ignored SIGTERM, is gone too
        for _ in range(50):
            os.killpg(group, 0)
            time.sleep(0.1)
