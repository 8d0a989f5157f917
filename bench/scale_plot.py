"""docs/scale.svg: bench/scale.py's stages against rows/day, on log-log axes (a stage that
grows linearly is a line of slope 1; the dotted grey line is exactly linear from the first
point of the run). Hand-written SVG: no plotting library in the environment."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

COLOURS = ("#1f5fbf", "#c2410c", "#047857", "#7c3aed", "#1f2933", "#a16207")
WIDTH, HEIGHT, PAD = 520, 360, 56


def _panel(x0: int, title: str, xs: list[float], series: dict[str, list[float]], unit: str
           ) -> list[str]:
    values = [v for vs in series.values() for v in vs if v > 0]
    lo_y, hi_y = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    lo_x, hi_x = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    hi_y, hi_x = max(hi_y, lo_y + 1), max(hi_x, lo_x + 1)

    def px(x: float) -> float:
        return x0 + PAD + (math.log10(x) - lo_x) / (hi_x - lo_x) * (WIDTH - 2 * PAD)

    def py(y: float) -> float:
        return HEIGHT - PAD - (math.log10(y) - lo_y) / (hi_y - lo_y) * (HEIGHT - 2 * PAD)

    out = [f'<text x="{x0 + WIDTH / 2}" y="24" text-anchor="middle" font-weight="bold">'
           f"{escape(title)}</text>"]
    for e in range(lo_x, hi_x + 1):
        out.append(f'<line x1="{px(10**e):.1f}" y1="{PAD}" x2="{px(10**e):.1f}" '
                   f'y2="{HEIGHT - PAD}" stroke="#e4e7eb"/>')
        out.append(f'<text x="{px(10**e):.1f}" y="{HEIGHT - PAD + 18}" text-anchor="middle">'
                   f"{10**e / 1e6:g}M</text>")
    for e in range(lo_y, hi_y + 1):
        out.append(f'<line x1="{x0 + PAD}" y1="{py(10**e):.1f}" x2="{x0 + WIDTH - PAD}" '
                   f'y2="{py(10**e):.1f}" stroke="#e4e7eb"/>')
        out.append(f'<text x="{x0 + PAD - 6}" y="{py(10**e) + 4:.1f}" text-anchor="end">'
                   f"{10**e:g}</text>")
    out.append(f'<text x="{x0 + WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle">'
               f"rows/day (product events + API requests)</text>")
    out.append(f'<text x="{x0 + 14}" y="{HEIGHT / 2}" text-anchor="middle" '
               f'transform="rotate(-90 {x0 + 14} {HEIGHT / 2})">{escape(unit)}</text>')
    for i, (name, ys) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=True) if y > 0)
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"/>')
        out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>'
                for x, y in zip(xs, ys, strict=True) if y > 0]
        out.append(f'<text x="{x0 + PAD + 8}" y="{PAD + 14 + 15 * i}" fill="{colour}">'
                   f"{escape(name)}</text>")
    first = next(iter(series.values()))
    if first and first[0] > 0:  # exactly linear from the first series' first point
        last_x = min(xs[-1], xs[0] * 10**hi_y / first[0])  # not past the panel's top
        ends = [(x, first[0] * x / xs[0]) for x in (xs[0], last_x)]
        out.append(f'<polyline points="{" ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in ends)}" '
                   'fill="none" stroke="#9aa5b1" stroke-dasharray="4 4"/>')
    return out


def write_plot(path: Path, days: list[dict[str, Any]]) -> None:
    xs = [float(sum(d["made"]["rows"].values())) for d in days]
    seconds = {"run (load + checks + dbt + Dagster)": [d["timing"].wall for d in days]}
    for stage in days[0]["stages"]:
        seconds[stage] = [max(d["stages"][stage], 0.0) for d in days]
    seconds["floor: bare INSERT … SELECT"] = [d["floor"] for d in days]
    gigabytes = {
        "peak memory (process tree)": [d["peak_rss"] / 2**30 for d in days],
        "raw on disk (the day)": [d["disk"].get("raw", 0) / 2**30 for d in days],
        "analytics on disk (the day)": [d["disk"].get("analytics", 0) / 2**30 for d in days],
    }
    body = [*_panel(0, "Seconds per stage", xs, seconds, "seconds"),
            *_panel(WIDTH, "Memory and disk", xs, gigabytes, "GB")]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="12" fill="#1f2933">'
        f'<rect width="100%" height="100%" fill="white"/>{"".join(body)}</svg>\n')
    print(f"wrote {path}")
