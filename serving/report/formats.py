"""How the report writes numbers: counts, shares, milliseconds, dollars, durations."""

from __future__ import annotations

from collections.abc import Callable

Formatter = Callable[[float], str]


def fmt_int(v: float) -> str:
    return f"{v:,.0f}"


def fmt_pct(v: float) -> str:
    return f"{v * 100:.1f}%" if v < 0.1 else f"{v * 100:.0f}%"


def fmt_ms(v: float) -> str:
    return f"{v:,.0f} ms"


def fmt_usd(v: float) -> str:
    return f"${v:,.0f}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
