"""Inline SVG plots for the HTML reports: heatmap, trade-off scatter, difference forest.

Hand-written SVG keeps the page self-contained (no plotting library, no network).
"""

from __future__ import annotations

import math
from html import escape

from macro_bench.aggregate.render_format import number, with_interval

# Light (worse) to dark (better); one scale for every metric, oriented by its direction.
_SCALE = [(247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)]
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]


def shade(goodness: float) -> str:
    position = min(max(goodness, 0.0), 1.0) * (len(_SCALE) - 1)
    low = int(math.floor(position))
    high = min(low + 1, len(_SCALE) - 1)
    mix = position - low
    r, g, b = (round(a + (c - a) * mix) for a, c in zip(_SCALE[low], _SCALE[high], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(rows: list[str], columns: list[str], cells: dict, higher_is_better: bool, title: str) -> str:
    """``cells[(row, column)] = (value, low, high, note)``; colour by rank within the map."""
    # 8 px per character of 12 px text keeps model names inside the picture: at 7 px Chromium
    # clipped the first letter of "gemma-3-270m" (seen in a screenshot of the CPU board).
    label_width = 16 + 8 * max((len(r) for r in rows), default=10)
    cell_width, cell_height, header = 96, 28, 120
    width = label_width + cell_width * len(columns) + 10
    height = header + cell_height * len(rows) + 10
    values = [v[0] for v in cells.values() if not math.isnan(v[0])]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    parts = [
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    ]
    for j, column in enumerate(columns):
        x = label_width + cell_width * j + cell_width / 2
        parts.append(
            f'<text x="{x:.0f}" y="{header - 8}" transform="rotate(-35 {x:.0f} {header - 8})" '
            f'font-size="12">{escape(column)}</text>'
        )
    for i, row in enumerate(rows):
        y = header + cell_height * i
        parts.append(f'<text x="{label_width - 8}" y="{y + cell_height * 0.65:.0f}" text-anchor="end" font-size="12">{escape(row)}</text>')
        for j, column in enumerate(columns):
            value, ci_low, ci_high, note = cells.get((row, column), (math.nan, math.nan, math.nan, ""))
            x = label_width + cell_width * j
            if math.isnan(value):
                fill, goodness, text = "#eeeeee", 0.0, "n/a"
            else:
                goodness = 0.5 if high == low else (value - low) / (high - low)
                goodness = goodness if higher_is_better else 1.0 - goodness
                fill, text = shade(goodness), number(value)
            ink = "#ffffff" if goodness > 0.6 else "#111111"
            tip = f"{row} / {column}: {with_interval(value, ci_low, ci_high)} {note}".strip()
            parts.append(
                f'<g><title>{escape(tip)}</title><rect x="{x}" y="{y}" width="{cell_width - 2}" height="{cell_height - 2}" '
                f'fill="{fill}"/><text x="{x + (cell_width - 2) / 2:.0f}" y="{y + cell_height * 0.62:.0f}" '
                f'text-anchor="middle" font-size="12" fill="{ink}">{text}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low or 1.0
    step = 10 ** math.floor(math.log10(span / count))
    for multiple in (1, 2, 5, 10):
        if span / (step * multiple) <= count:
            step *= multiple
            break
    start = math.ceil(low / step) * step
    return [start + k * step for k in range(int((high - start) / step + 1e-9) + 1)]


def scatter(points: list[dict], x_label: str, y_label: str, corner_note: str) -> str:
    """Points with x/y intervals: dicts of label, group, x, x_low, x_high, y, y_low, y_high."""
    longest_group = max((len(p["group"]) for p in points), default=10)
    width, height, left, top, bottom = 900, 540, 70, 20, 55
    right = 50 + 7 * longest_group
    xs = [v for p in points for v in (p["x_low"], p["x_high"], p["x"]) if not math.isnan(v)]
    ys = [v for p in points for v in (p["y_low"], p["y_high"], p["y"]) if not math.isnan(v)]
    if not xs or not ys:
        return "<p>No values to plot.</p>"
    pad_x, pad_y = (max(xs) - min(xs)) * 0.08 or 0.05, (max(ys) - min(ys)) * 0.08 or 0.05
    x0, x1, y0, y1 = min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y

    def px(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * (width - left - right)

    def py(v: float) -> float:
        return height - bottom - (v - y0) / (y1 - y0) * (height - top - bottom)

    groups = list(dict.fromkeys(p["group"] for p in points))
    colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(y_label)} vs {escape(x_label)}">']
    parts.append(f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="#fafafa" stroke="#999"/>')
    for tick in _ticks(x0, x1):
        parts.append(f'<line x1="{px(tick):.1f}" x2="{px(tick):.1f}" y1="{top}" y2="{height - bottom}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{px(tick):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">{tick:.3g}</text>')
    for tick in _ticks(y0, y1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 6}" y="{py(tick) + 4:.1f}" text-anchor="end" font-size="11">{tick:.3g}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle" font-size="13">{escape(x_label)}</text>')
    parts.append(f'<text x="16" y="{(top + height - bottom) / 2:.0f}" transform="rotate(-90 16 {(top + height - bottom) / 2:.0f})" text-anchor="middle" font-size="13">{escape(y_label)}</text>')
    parts.append(f'<text x="{left + 8}" y="{top + 16}" font-size="11" fill="#555">{escape(corner_note)}</text>')
    for p in points:
        c = colour[p["group"]]
        tip = (f'{p["label"]}: {y_label} {with_interval(p["y"], p["y_low"], p["y_high"])}, '
               f'{x_label} {with_interval(p["x"], p["x_low"], p["x_high"])}')
        parts.append(f'<g><title>{escape(tip)}</title>')
        parts.append(f'<line x1="{px(p["x_low"]):.1f}" x2="{px(p["x_high"]):.1f}" y1="{py(p["y"]):.1f}" y2="{py(p["y"]):.1f}" stroke="{c}" stroke-width="1.5"/>')
        parts.append(f'<line x1="{px(p["x"]):.1f}" x2="{px(p["x"]):.1f}" y1="{py(p["y_low"]):.1f}" y2="{py(p["y_high"]):.1f}" stroke="{c}" stroke-width="1.5"/>')
        parts.append(f'<circle cx="{px(p["x"]):.1f}" cy="{py(p["y"]):.1f}" r="5" fill="{c}" stroke="#fff"/>')
        # Labels point inwards so they stay inside the frame.
        inward = (-7, "end") if px(p["x"]) > (left + width - right) / 2 else (7, "start")
        parts.append(f'<text x="{px(p["x"]) + inward[0]:.1f}" y="{py(p["y"]) - 7:.1f}" text-anchor="{inward[1]}" font-size="11">{escape(p["label"])}</text></g>')
    for i, group in enumerate(groups):
        y = top + 14 + 18 * i
        parts.append(f'<circle cx="{width - right + 18}" cy="{y - 4}" r="5" fill="{colour[group]}"/>')
        parts.append(f'<text x="{width - right + 28}" y="{y}" font-size="12">{escape(group)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def forest(rows: list[dict], x_label: str) -> str:
    """Differences with intervals, one line per row: dicts of label, value, low, high, verdict ('A'/'B'/'none')."""
    label_width = 16 + 8 * max((len(r["label"]) for r in rows), default=10)
    plot_width, row_height, top, bottom = 520, 22, 10, 45
    height = top + row_height * len(rows) + bottom
    width = label_width + plot_width + 30
    values = [v for r in rows for v in (r["low"], r["high"], 0.0) if not math.isnan(v)]
    bound = max(abs(v) for v in values) * 1.1 or 0.01

    def px(v: float) -> float:
        return label_width + (v + bound) / (2 * bound) * plot_width

    colours = {"A": "#1f77b4", "B": "#d62728", "none": "#888888"}
    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(x_label)}">']
    parts.append(f'<line x1="{px(0):.1f}" x2="{px(0):.1f}" y1="{top}" y2="{height - bottom}" stroke="#444" stroke-dasharray="3 3"/>')
    for tick in _ticks(-bound, bound):
        parts.append(f'<text x="{px(tick):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">{tick:+.3g}</text>')
    parts.append(f'<text x="{px(0):.0f}" y="{height - 10}" text-anchor="middle" font-size="12">{escape(x_label)}</text>')
    for i, r in enumerate(rows):
        y = top + row_height * i + row_height / 2
        c = colours[r["verdict"]]
        parts.append(f'<g><title>{escape(r["label"])}: {r["value"]:+.3f} [{r["low"]:+.3f}, {r["high"]:+.3f}]</title>')
        parts.append(f'<text x="{label_width - 8}" y="{y + 4:.0f}" text-anchor="end" font-size="12">{escape(r["label"])}</text>')
        if not math.isnan(r["value"]):
            parts.append(f'<line x1="{px(r["low"]):.1f}" x2="{px(r["high"]):.1f}" y1="{y:.0f}" y2="{y:.0f}" stroke="{c}" stroke-width="2"/>')
            parts.append(f'<circle cx="{px(r["value"]):.1f}" cy="{y:.0f}" r="4.5" fill="{c}"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
