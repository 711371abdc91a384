"""Inline SVG charts rendered on the server: no script, no CDN, readable on a closed network.

Every text in a chart is escaped; sizes are in viewBox units so the SVG scales with the page.
"""

from __future__ import annotations

from datetime import date
from html import escape

from markupsafe import Markup

PALETTE = ("#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed")
WIDTH = 640


def funnel_bars(steps: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per funnel step, each as long as its count relative to the first."""
    row, label_w = 26, 150
    top = max([count for _, count in steps] + [1])
    height = row * len(steps) + 10
    parts = [f'<svg class="chart" id="chart-funnel" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="Funnel: {escape(", ".join(f"{n} {c}" for n, c in steps))}">']
    for i, (name, count) in enumerate(steps):
        y = 5 + i * row
        width = round((WIDTH - label_w - 60) * count / top, 1)
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12">{escape(name)}</text>'
                     f'<rect data-step="{escape(name)}" x="{label_w}" y="{y + 3}" width="{width}" height="{row - 8}" '
                     f'fill="{PALETTE[0]}"><title>{escape(name)}: {count}</title></rect>'
                     f'<text x="{label_w + width + 6}" y="{y + 16}" font-size="12">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def daily_lines(days: list[date], series: dict[str, dict[date, int]]) -> Markup:
    """Bookings per day, one line (and legend entry) per variant."""
    height, left, bottom, top_pad = 220, 40, 30, 24
    plot_w, plot_h = WIDTH - left - 10, height - bottom - top_pad
    peak = max([n for counts in series.values() for n in counts.values()] + [1])
    step = plot_w / max(len(days) - 1, 1)

    def point(i: int, n: int) -> str:
        return f"{left + i * step:.1f},{top_pad + plot_h - plot_h * n / peak:.1f}"

    parts = [f'<svg class="chart" id="chart-bookings" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="Bookings per day per variant">',
             f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{WIDTH - 10}" y2="{top_pad + plot_h}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" font-size="11">{peak}</text>',
             f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" font-size="11">0</text>']
    if days:
        parts.append(f'<text x="{left}" y="{height - 8}" font-size="11">{days[0].isoformat()}</text>'
                     f'<text x="{WIDTH - 10}" y="{height - 8}" text-anchor="end" font-size="11">'
                     f'{days[-1].isoformat()}</text>')
    for k, (name, counts) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(point(i, counts.get(day, 0)) for i, day in enumerate(days))
        total = sum(counts.values())
        parts.append(f'<polyline data-variant="{escape(name)}" fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{points}"><title>{escape(name)}: {total} bookings</title></polyline>'
                     f'<rect x="{left + 10 + k * 130}" y="6" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{left + 24 + k * 130}" y="15" font-size="11">{escape(name)} ({total})</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
