"""A tiny server-side SVG bar-chart renderer (no JavaScript, no chart library).

Two shapes: ``bar_chart`` (one bar per label) and ``stacked_bar_chart`` (one bar per category,
segments per series, with a legend) — enough to compare districts. Every label is XML-escaped;
the result is ``Markup`` so that Jinja2 does not escape the SVG itself.
"""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#1f6feb", "#2da44e", "#d29922", "#cf222e", "#8250df", "#57606a", "#0a7ea4", "#bf3989", "#6e7781", "#953800")
ROW = 26
LABEL_WIDTH = 92
CHART_WIDTH = 440


def text_width(label: str, size: float = 14.0) -> float:
    """A rough rendered width: CJK characters are square, Latin ones about half as wide."""
    return sum(size if ord(c) > 0x2E80 else size * 0.56 for c in label)


def label_width(labels: list[str]) -> int:
    widest = max((text_width(label) for label in labels), default=40.0)
    return int(min(CHART_WIDTH * 0.42, max(48.0, widest + 12)))


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def bar_chart(rows: list[tuple[str, float]], *, title: str, color: str = PALETTE[0]) -> Markup:
    """Horizontal bars, one per ``(label, value)``."""
    LABEL_WIDTH = label_width([label for label, _ in rows])
    bar_space = CHART_WIDTH - LABEL_WIDTH - 50
    peak = max((v for _, v in rows), default=0) or 1
    height = max(1, len(rows)) * ROW + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append('<text x="4" y="18" class="chart-empty">—</text>')
    for index, (label, value) in enumerate(rows):
        y = 5 + index * ROW
        width = 0 if value <= 0 else max(2.0, bar_space * value / peak)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 16}" text-anchor="end" class="chart-label">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{ROW - 8}" rx="2" fill="{color}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
        )
        parts.append(f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16}" class="chart-value">{_fmt(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar_chart(categories: list[str], series: list[tuple[str, list[float]]], *, title: str) -> Markup:
    """Horizontal stacked bars: one bar per category, one coloured segment per series."""
    LABEL_WIDTH = label_width(categories)
    bar_space = CHART_WIDTH - LABEL_WIDTH - 50
    totals = [sum(values[i] for _, values in series) for i in range(len(categories))]
    peak = max(totals, default=0) or 1
    legend_rows = (len(series) + 3) // 4
    top = legend_rows * 20 + 6
    height = top + max(1, len(categories)) * ROW + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (name, _) in enumerate(series):
        legend_x = 4 + (index % 4) * 108
        legend_y = 4 + (index // 4) * 20
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{legend_x}" y="{legend_y + 3}" width="12" height="12" fill="{color}"/>'
            f'<text x="{legend_x + 16}" y="{legend_y + 14}" class="chart-legend">{escape(name)}</text>'
        )
    for row, category in enumerate(categories):
        y = top + row * ROW
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 16}" text-anchor="end" class="chart-label">{escape(category)}</text>'
        )
        x = float(LABEL_WIDTH)
        for index, (name, values) in enumerate(series):
            value = values[row]
            if value <= 0:
                continue
            width = bar_space * value / peak
            color = PALETTE[index % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW - 8}" fill="{color}">'
                f"<title>{escape(category)} · {escape(name)}: {_fmt(value)}</title></rect>"
            )
            x += width
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}" class="chart-value">{_fmt(totals[row])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
