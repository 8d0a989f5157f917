"""Small inline-SVG charts: no JavaScript, no fonts or scripts from the network.

Each chart is a `Markup`; every string it shows (series names, dates, labels, tooltips) is
escaped where it is placed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from serving.report.formats import (
    Formatter,
    fmt_int,
)
from serving.report.parts import Markup

# Colour-blind-safe, AA contrast on white (Okabe-Ito, darkened where needed).
PALETTE = ("#1f5fbf", "#c2410c", "#047857", "#7c3aed", "#b91c1c", "#0e7490", "#a16207")
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#e4e7eb"

def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high`."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(high / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    """The chart; every string of data in `body` was escaped where it was placed."""
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body) + "</svg>"
    )


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out = []
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="12" rx="2" '
                   f'fill="{colour}"/>')
        out.append(f'<text x="{x + 17:.1f}" y="{y + 1:.1f}" class="legend">{escape(name)}</text>')
        x += 30 + 7.2 * len(name)
    return out


def _date_label(iso: str) -> str:
    return iso[5:]  # MM-DD: the year is in the page title


def line_chart(x: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
               fmt: Formatter = fmt_int, width: int = 640, height: int = 260,
               label: str = "", band: tuple[Sequence[float | None], Sequence[float | None]]
               | None = None) -> Markup:
    """Lines over dates; `band` (low, high) is drawn as a shaded area behind them."""
    left, right, top, bottom = 64, 16, 34, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series.values() for v in s if v is not None]
    if band:
        values += [v for v in band[1] if v is not None]
    ticks = nice_ticks(max(values, default=0))
    y_max = ticks[-1] or 1.0
    n = max(len(x), 1)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    body = _legend(list(series), left, 16)
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{py(t):.1f}" y2="{py(t):.1f}" '
                    f'stroke="{GRID}"/>')
        body.append(f'<text x="{left - 8}" y="{py(t) + 4:.1f}" class="axis" '
                    f'text-anchor="end">{escape(fmt(t))}</text>')
    every = max(1, math.ceil(n / 8))
    for i, day in enumerate(x):
        if i % every == 0 or i == n - 1:
            body.append(f'<text x="{px(i):.1f}" y="{height - 12}" class="axis" '
                        f'text-anchor="middle">{escape(_date_label(day))}</text>')
    if band:
        low, high = band
        points = [(i, lo, hi) for i, (lo, hi) in enumerate(zip(low, high, strict=False))
                  if lo is not None and hi is not None]
        if points:
            upper = " ".join(f"{px(i):.1f},{py(hi):.1f}" for i, _, hi in points)
            lower = " ".join(f"{px(i):.1f},{py(lo):.1f}" for i, lo, _ in reversed(points))
            body.append(f'<polygon points="{upper} {lower}" fill="#94a3b8" '
                        f'fill-opacity="0.35"/>')
    for k, (name, values_k) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if band and k > 0 else ""
        segment: list[str] = []
        segments = []
        for i, v in enumerate(values_k):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
            else:
                segment.append(f"{px(i):.1f},{py(v):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            body.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                        f'stroke-width="2.5" stroke-linejoin="round"{dash}/>')
        for i, v in enumerate(values_k):
            if v is not None and n <= 45:
                body.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{colour}">'
                            f'<title>{escape(name)} {escape(x[i])}: {escape(fmt(v))}</title>'
                            f'</circle>')
    return _svg(width, height, body, label)


def bar_chart(labels: Sequence[str], values: Sequence[float], *, fmt: Formatter = fmt_int,
              width: int = 640, height: int = 240, label: str = "",
              colour: str = PALETTE[0]) -> Markup:
    """Vertical bars, one per label (e.g. spend per day)."""
    left, right, top, bottom = 64, 16, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max(values, default=0))
    y_max = ticks[-1] or 1.0
    n = max(len(labels), 1)
    slot = plot_w / n
    body = []
    for t in ticks:
        y = top + plot_h - plot_h * t / y_max
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="{GRID}"/>')
        body.append(f'<text x="{left - 8}" y="{y + 4:.1f}" class="axis" '
                    f'text-anchor="end">{escape(fmt(t))}</text>')
    every = max(1, math.ceil(n / 8))
    for i, (name, v) in enumerate(zip(labels, values, strict=False)):
        h = plot_h * v / y_max
        x = left + i * slot + slot * 0.15
        body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{h:.1f}" rx="2" fill="{escape(colour)}" data-value="{v}">'
                    f'<title>{escape(name)}: {escape(fmt(v))}</title></rect>')
        if i % every == 0 or i == n - 1:
            body.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - 12}" '
                        f'class="axis" text-anchor="middle">{escape(_date_label(name))}</text>')
    return _svg(width, height, body, label)


def funnel_bars(steps: Sequence[tuple[str, int, float]], *, width: int = 640,
                label: str = "") -> Markup:
    """Horizontal bars, one per step: (event, users, conversion from step 1)."""
    left, right, row = 190, 150, 40
    height = 12 + row * len(steps)
    top_users = max((u for _, u, _ in steps), default=0) or 1
    plot_w = width - left - right
    body = []
    for i, (event, users, rate) in enumerate(steps):
        y = 8 + i * row
        w = max(plot_w * users / top_users, 2)
        body.append(f'<text x="{left - 10}" y="{y + 20}" class="label" text-anchor="end">'
                    f'{i + 1}. {escape(event)}</text>')
        body.append(f'<rect x="{left}" y="{y + 4}" width="{plot_w:.1f}" height="24" rx="3" '
                    f'fill="{GRID}"/>')
        body.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="24" rx="3" '
                    f'fill="{PALETTE[0]}" data-users="{users}" data-rate="{rate}"/>')
        body.append(f'<text x="{left + plot_w + 10}" y="{y + 20}" class="value">'
                    f'{users:,} · {rate * 100:.1f}%</text>')
    return _svg(width, height, body, label)


def _heat(rate: float) -> tuple[str, str]:
    """A sequential blue scale, white → #173f8a; text flips to white on dark cells."""
    rate = min(max(rate, 0.0), 1.0)
    lo, hi = (239, 246, 255), (23, 63, 138)
    r, g, b = (round(a + (c - a) * rate ** 0.7) for a, c in zip(lo, hi, strict=False))
    return f"#{r:02x}{g:02x}{b:02x}", ("#ffffff" if rate > 0.35 else INK)


def heatmap(rows: Sequence[str], cols: Sequence[int],
            cells: dict[tuple[str, int], tuple[float, int]], *, width: int = 640,
            label: str = "", unit: str = "day") -> Markup:
    """Cohort × day_n (or week_n) retention: each cell (rate, cohort size); absent cells are
    grey."""
    left, top, row_h = 96, 30, 26
    col_w = (width - left - 8) / max(len(cols), 1)
    height = top + row_h * len(rows) + 6
    body = []
    for j, day_n in enumerate(cols):
        body.append(f'<text x="{left + (j + 0.5) * col_w:.1f}" y="{top - 10}" class="axis" '
                    f'text-anchor="middle">{escape(unit)} {day_n}</text>')
    for i, cohort in enumerate(rows):
        y = top + i * row_h
        size = next((cells[(cohort, d)][1] for d in cols if (cohort, d) in cells), None)
        body.append(f'<text x="{left - 8}" y="{y + 17}" class="axis" text-anchor="end">'
                    f'{escape(_date_label(cohort))}'
                    f'{f" ({size:,})" if size is not None else ""}</text>')
        for j, day_n in enumerate(cols):
            x = left + j * col_w
            if (cohort, day_n) in cells:
                rate, _ = cells[(cohort, day_n)]
                fill, ink = _heat(rate)
                text = f"{rate * 100:.0f}%"
            else:
                fill, ink, text = "#f5f7fa", "#9aa5b1", "–"
            body.append(f'<rect x="{x + 1:.1f}" y="{y + 1}" width="{col_w - 2:.1f}" '
                        f'height="{row_h - 2}" rx="2" fill="{fill}"/>')
            body.append(f'<text x="{x + col_w / 2:.1f}" y="{y + 17}" fill="{ink}" '
                        f'class="cell" text-anchor="middle">{text}</text>')
    return _svg(width, height, body, label)


def bullet(value: float | None, p25: float, p50: float, p75: float, *, fmt: Formatter,
           width: int = 300, height: int = 34) -> Markup:
    """The peers' p25–p75 band, their median tick and this tenant's value as a dot."""
    high = max(p75, value or 0) * 1.15 or 1.0
    left, right = 6, 6

    def px(v: float) -> float:
        return left + (width - left - right) * v / high

    body = [
        f'<line x1="{left}" x2="{width - right}" y1="17" y2="17" stroke="{GRID}" '
        f'stroke-width="6" stroke-linecap="round"/>',
        f'<rect x="{px(p25):.1f}" y="9" width="{max(px(p75) - px(p25), 2):.1f}" height="16" '
        f'rx="3" fill="#94a3b8" fill-opacity="0.6"><title>p25–p75: {escape(fmt(p25))} – '
        f'{escape(fmt(p75))}</title></rect>',
        f'<line x1="{px(p50):.1f}" x2="{px(p50):.1f}" y1="5" y2="29" stroke="{INK}" '
        f'stroke-width="2"><title>p50: {escape(fmt(p50))}</title></line>',
    ]
    if value is not None:
        body.append(f'<circle cx="{px(value):.1f}" cy="17" r="7" fill="{PALETTE[0]}" '
                    f'stroke="#fff" stroke-width="2"><title>you: {escape(fmt(value))}</title>'
                    f'</circle>')
    return _svg(width, height, body, "benchmark")


def stacked_bars(labels: Sequence[str], up: Mapping[str, Sequence[float]],
                 down: Mapping[str, Sequence[float]], *, fmt: Formatter = fmt_int,
                 width: int = 640, height: int = 260, label: str = "") -> Markup:
    """Per label, the `up` series stacked above a zero line and `down` below it (a
    lifecycle chart: who came, who lapsed)."""
    left, right, top, bottom = 64, 16, 30, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    high = max((sum(v[i] for v in up.values()) for i in range(len(labels))), default=0)
    low = max((sum(v[i] for v in down.values()) for i in range(len(labels))), default=0)
    span = (high + low) or 1.0
    zero = top + plot_h * high / span
    slot = plot_w / n
    body = _legend([*up, *down], left, 14)
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{zero:.1f}" y2="{zero:.1f}" '
                f'stroke="{MUTED}"/>')
    for side, series, offset in ((-1, up, 0), (1, down, len(up))):
        for i, name in enumerate(labels):
            base = zero
            for k, (key, values) in enumerate(series.items()):
                h = plot_h * values[i] / span
                y = base - h if side < 0 else base
                body.append(f'<rect x="{left + i * slot + slot * 0.15:.1f}" y="{y:.1f}" '
                            f'width="{slot * 0.7:.1f}" height="{h:.1f}" '
                            f'fill="{PALETTE[(offset + k) % len(PALETTE)]}" '
                            f'data-value="{values[i]}"><title>{escape(name)} {escape(key)}: '
                            f'{escape(fmt(values[i]))}</title></rect>')
                base = y if side < 0 else base + h
    every = max(1, math.ceil(n / 8))
    for i, name in enumerate(labels):
        if i % every == 0 or i == n - 1:
            body.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - 12}" '
                        f'class="axis" text-anchor="middle">{escape(_date_label(name))}</text>')
    body.append(f'<text x="{left - 8}" y="{top + 4}" class="axis" text-anchor="end">'
                f'{escape(fmt(high))}</text>')
    body.append(f'<text x="{left - 8}" y="{top + plot_h}" class="axis" text-anchor="end">'
                f'−{escape(fmt(low))}</text>')
    return _svg(width, height, body, label)
