"""Headless Chromium for screenshot tests: found on PATH, never installed by a test.

`make test` installs the Debian `chromium` package when it runs as root and it is missing;
elsewhere install it yourself (`apt-get install chromium`). Tests skip without it.
"""

from __future__ import annotations

import html
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

# Tests never rewrite tracked files: screenshots go to a temporary directory unless
# `make screenshots` points SAAS_WAREHOUSE_SCREENSHOTS at docs/screenshots.
SCREENSHOTS = Path(os.environ.get("SAAS_WAREHOUSE_SCREENSHOTS")
                   or Path(tempfile.gettempdir()) / "saas-warehouse-screenshots")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--disable-dev-shm-usage",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


NO_CHROMIUM = ("headless Chromium is not installed (apt-get install chromium, or run "
               "`make test` as root, which installs it)")
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason=NO_CHROMIUM)


def chromium() -> str:
    path = find_chromium()
    if path:
        return path
    pytest.skip(NO_CHROMIUM)


def screenshot(url: str, out: Path, *, width: int = 1400, height: int = 1000,
               virtual_time_ms: int | None = None, timeout: float = 120) -> Path:
    """Renders `url` and writes a PNG of the first `height` pixels to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        args = [chromium(), *FLAGS, f"--user-data-dir={profile}",
                f"--window-size={width},{height}", f"--screenshot={out}"]
        if virtual_time_ms:
            args.append(f"--virtual-time-budget={virtual_time_ms}")
        out.unlink(missing_ok=True)
        proc = subprocess.run([*args, url], capture_output=True, text=True, timeout=timeout)
    assert out.exists(), (
        f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    )
    return out


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def terminal_screenshot(command: str, output: str, out: Path, *, width: int = 1100) -> Path:
    """What a terminal shows after `command` printed `output`, as a PNG: the lines as they
    were printed, white on black, in a monospace font. A progress bar redraws in place on a
    terminal and ends as the one line printed here."""
    lines = [f"$ {command}", *output.rstrip("\n").splitlines()]
    page = out.with_suffix(".html")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        "<!doctype html><meta charset='utf-8'><body style='margin:0;background:#1e1e1e'>"
        "<pre style='margin:0;padding:16px;color:#e6e6e6;white-space:pre-wrap;"
        "font:14px/1.35 DejaVu Sans Mono,monospace'>"
        f"{html.escape(chr(10).join(lines))}</pre>", encoding="utf-8")
    columns = (width - 32) // 9  # characters a line holds before it wraps
    rows = sum(max(1, -(-len(line) // columns)) for line in lines)
    try:
        return screenshot(page.as_uri(), out, width=width, height=40 + 19 * rows)
    finally:
        page.unlink(missing_ok=True)
