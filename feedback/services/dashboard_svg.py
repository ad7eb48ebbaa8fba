"""Server-side SVG charts for the dashboard: no script, no inline style, so they render under a strict CSP.

Colours come from CSS classes (`series-0` ... `series-7`) in the dashboard stylesheet; every mark carries a
`<title>` so hovering shows the exact figure. All text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

W, H = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 34
PALETTE = 8


@dataclass
class Line:
    """One series of a line chart; None marks a bucket without data. `lows`/`highs` draw a band."""

    name: str
    values: Sequence[float | None]
    lows: Sequence[float | None] | None = None
    highs: Sequence[float | None] | None = None
    counts: Sequence[int] | None = None


def _f(x: float) -> str:
    return f"{x:.1f}"


def _x(i: int, n: int) -> float:
    inner = W - LEFT - RIGHT
    return LEFT + (inner * (i + 0.5) / n if n else 0)


def _y(v: float, top: float) -> float:
    inner = H - TOP - BOTTOM
    return TOP + inner * (1 - (v / top if top else 0))


def _frame(labels: Sequence[str], top: float, percent: bool, label: str) -> list[str]:
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}" '
             'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(label)}</title>"]
    for k in range(5):
        v = top * k / 4
        y = _y(v, top)
        text = f"{v * 100:.0f}%" if percent else (f"{v:.0f}" if top >= 4 else f"{v:.1f}")
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{_f(y)}" y2="{_f(y)}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{_f(y + 4)}" text-anchor="end">{text}</text>')
    n = len(labels)
    step = max(1, n // 8)
    for i in range(0, n, step):
        short = labels[i][5:] if len(labels[i]) >= 10 else labels[i]
        parts.append(f'<text class="tick" x="{_f(_x(i, n))}" y="{H - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(short)}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}"/>')
    return parts


def line_chart(labels: Sequence[str], lines: Sequence[Line], *, label: str, percent: bool = True,
               top: float = 1.0) -> Markup:
    """Lines over time buckets with optional confidence bands; gaps where a bucket has no data."""
    parts = _frame(labels, top, percent, label)
    n = len(labels)
    for s, line in enumerate(lines):
        css = f"series-{s % PALETTE}"
        if line.lows is not None and line.highs is not None:
            for run in _runs(line.values):
                upper = [f"{_f(_x(i, n))},{_f(_y(line.highs[i] or 0, top))}" for i in run]
                lower = [f"{_f(_x(i, n))},{_f(_y(line.lows[i] or 0, top))}" for i in reversed(run)]
                parts.append(f'<polygon class="band {css}" points="{" ".join(upper + lower)}"/>')
        for run in _runs(line.values):
            points = " ".join(f"{_f(_x(i, n))},{_f(_y(line.values[i] or 0, top))}" for i in run)
            parts.append(f'<polyline class="line {css}" points="{points}"/>')
        for i, v in enumerate(line.values):
            if v is None:
                continue
            tip = f"{line.name} · {labels[i]}: " + (f"{v * 100:.1f}%" if percent else f"{v:g}")
            if line.lows is not None and line.highs is not None:
                tip += f" (95% CI {(line.lows[i] or 0) * 100:.1f}–{(line.highs[i] or 0) * 100:.1f}%)"
            if line.counts is not None:
                tip += f", n={line.counts[i]}"
            parts.append(f'<circle class="dot {css}" cx="{_f(_x(i, n))}" cy="{_f(_y(v, top))}" r="3">'
                         f"<title>{escape(tip)}</title></circle>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    runs: list[list[int]] = []
    current: list[int] = []
    for i, v in enumerate(values):
        if v is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(i)
    if current:
        runs.append(current)
    return runs


def stacked_bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *, label: str) -> Markup:
    """Counts per bucket stacked by series (for example feedback volume by model version)."""
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    top = _nice(max(totals, default=0))
    parts = _frame(labels, top, False, label)
    n = len(labels)
    width = max(2.0, (W - LEFT - RIGHT) / max(n, 1) * 0.7)
    for i in range(n):
        base = 0
        for s, (name, values) in enumerate(series):
            v = values[i]
            if not v:
                continue
            y0, y1 = _y(base, top), _y(base + v, top)
            parts.append(f'<rect class="bar series-{s % PALETTE}" x="{_f(_x(i, n) - width / 2)}" y="{_f(y1)}" '
                         f'width="{_f(width)}" height="{_f(max(y0 - y1, 0.5))}">'
                         f"<title>{escape(f'{name} · {labels[i]}: {v}')}</title></rect>")
            base += v
    parts.append("</svg>")
    return Markup("".join(parts))


def calibration_chart(bins: Sequence[tuple[float, float, float | None, float, float, int]], *, label: str) -> Markup:
    """Reliability diagram: observed thumbs-up rate (with 95 % CI) per confidence bin against the diagonal.

    `bins` holds (low, high, rate or None, ci_low, ci_high, n).
    """
    inner_w, inner_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}" '
             'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(label)}</title>"]

    def px(x: float) -> float:
        return LEFT + inner_w * x

    for k in range(5):
        y = _y(k / 4, 1)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{_f(y)}" y2="{_f(y)}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{_f(y + 4)}" text-anchor="end">{k * 25}%</text>')
        parts.append(f'<text class="tick" x="{_f(px(k / 4))}" y="{H - BOTTOM + 16}" text-anchor="middle">'
                     f"{k / 4:.2f}</text>")
    parts.append(f'<line class="diagonal" x1="{px(0)}" y1="{_f(_y(0, 1))}" x2="{px(1)}" y2="{_f(_y(1, 1))}"/>')
    parts.append(f'<text class="tick" x="{_f(LEFT + inner_w / 2)}" y="{H - 2}" text-anchor="middle">'
                 "model confidence</text>")
    max_n = max((b[5] for b in bins), default=0) or 1
    for low, high, rate, ci_low, ci_high, n in bins:
        mid = (low + high) / 2
        bar_h = inner_h * 0.25 * n / max_n
        parts.append(f'<rect class="volume" x="{_f(px(low) + 2)}" y="{_f(H - BOTTOM - bar_h)}" '
                     f'width="{_f(px(high) - px(low) - 4)}" height="{_f(bar_h)}">'
                     f"<title>{escape(f'confidence {low:.1f}–{high:.1f}: n={n}')}</title></rect>")
        if rate is None:
            continue
        x = _f(px(mid))
        parts.append(f'<line class="whisker" x1="{x}" x2="{x}" y1="{_f(_y(ci_low, 1))}" y2="{_f(_y(ci_high, 1))}"/>')
        tip = f"confidence {low:.1f}–{high:.1f}: {rate * 100:.1f}% thumbs up (95% CI {ci_low * 100:.1f}–" \
              f"{ci_high * 100:.1f}%), n={n}"
        parts.append(f'<circle class="dot series-0" cx="{x}" cy="{_f(_y(rate, 1))}" r="4">'
                     f"<title>{escape(tip)}</title></circle>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(value: float) -> float:
    """A round axis maximum at or above `value`."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)
