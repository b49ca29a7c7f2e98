"""Server-rendered SVG of an outcome's mean per period and treatment, with a text alternative.

Pure: no Django, no clock, no I/O, no JavaScript, no external resources. The same input always
gives the same string. Each treatment is one series distinguished by colour (Okabe-Ito palette,
safe for the common colour-vision deficiencies) AND by marker shape, marker fill and line dash,
so the chart still reads in greyscale. Error bars are whatever interval the caller passes as
ci_low/ci_high (the summary page passes the 95% t-interval of the mean, see
scoring.statistics.mean_confidence_interval); `interval_label` names it in the legend and the
description. Empty cells (mean None) are skipped, never drawn as 0, and break the line.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple
from xml.sax.saxutils import escape

Number = int | float | Decimal | Fraction

# (colour, marker shape, marker filled, dash array); Okabe & Ito, "Color Universal Design".
SERIES_STYLES: tuple[tuple[str, str, bool, str | None], ...] = (
    ("#0072B2", "circle", True, None),
    ("#D55E00", "square", False, "7 4"),
    ("#009E73", "triangle", True, "2 3"),
    ("#CC79A7", "diamond", False, "9 3 2 3"),
    ("#E69F00", "triangle-down", True, "4 2"),
    ("#56B4E9", "cross", False, "1 5"),
)
WIDTH, HEIGHT = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 72, WIDTH - 20, 78, HEIGHT - 56
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


class ChartPoint(NamedTuple):
    """One cell: a period and a treatment. mean None means no data (n 0 or None)."""

    period: int
    treatment: str
    n: int | None
    mean: float | None
    ci_low: float | None
    ci_high: float | None


def _number(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction):
        raise TypeError(f"{what} must be a number or None, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return result


def _points_parse(points: Iterable[tuple[object, ...]]) -> list[ChartPoint]:
    """Validated points in display order (period, then treatment label). ValueError/TypeError
    for a bad period, count or value, a duplicate cell, or an interval that does not contain
    its mean."""
    parsed: dict[tuple[int, str], ChartPoint] = {}
    for raw in points:
        period, treatment, n, *values = raw
        if isinstance(period, bool) or not isinstance(period, int) or period < 1:
            raise ValueError(f"period must be an integer >= 1, got {period!r}")
        if not isinstance(treatment, str) or not treatment:
            raise ValueError(f"treatment label must be a non-empty string, got {treatment!r}")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise ValueError(f"n must be an integer >= 0 or None, got {n!r}")
        mean, low, high = (
            _number(v, w) for v, w in zip(values, ("mean", "ci_low", "ci_high"), strict=True)
        )
        if mean is None and (low is not None or high is not None):
            raise ValueError(f"period {period} {treatment!r}: an interval without a mean")
        if mean is not None and not n:
            raise ValueError(f"period {period} {treatment!r}: a mean needs n >= 1")
        if (low is None) != (high is None):
            raise ValueError(f"period {period} {treatment!r}: give both interval ends or neither")
        if mean is not None and low is not None and high is not None and not low <= mean <= high:
            raise ValueError(f"period {period} {treatment!r}: interval must contain the mean")
        if (period, treatment) in parsed:
            raise ValueError(f"period {period} {treatment!r} given twice")
        parsed[period, treatment] = ChartPoint(period, treatment, n, mean, low, high)
    return [parsed[key] for key in sorted(parsed)]


def period_treatment_table(points: Iterable[tuple[object, ...]]) -> list[dict[str, object]]:
    """The chart's numbers as rows for an HTML table (the chart's text alternative): one dict
    per cell with keys period, treatment, n, mean, ci_low, ci_high, sorted by period then
    treatment. Empty cells are kept (mean None) so the table shows them as empty; values are
    floats at full precision, for the template to round."""
    return [point._asdict() for point in _points_parse(points)]


def _nice_step(span: float) -> float:
    # About 5 intervals, each 1, 2, 2.5 or 5 times a power of ten.
    raw = span / 5
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def _axis(y_range: tuple[Number, Number], data: list[float]) -> tuple[float, float, list[float]]:
    """(low, high, ticks). The range widens to whole ticks when data fall outside y_range, so
    no mark is ever drawn outside the plot area or clipped."""
    low, high = (_number(v, "y_range") for v in y_range)
    if low is None or high is None or not low < high:
        raise ValueError(f"y_range must be (low, high) with low < high, got {y_range!r}")
    step = _nice_step(high - low)
    if data and min(data) < low:
        low = math.floor(min(data) / step) * step
    if data and max(data) > high:
        high = math.ceil(max(data) / step) * step
    first = math.ceil(low / step - 1e-9)
    ticks = [k * step for k in range(first, math.floor(high / step + 1e-9) + 1)]
    return low, high, ticks


def _fmt(value: float) -> str:
    """Coordinates: two decimals, enough for a 640-pixel drawing, and deterministic."""
    return f"{value:.2f}"


def _label(value: float) -> str:
    text = f"{round(value, 6):g}"
    return "0" if text == "-0" else text


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _marker(shape: str, x: float, y: float, colour: str, filled: bool) -> str:
    fill = colour if filled else "#ffffff"
    paint = f'fill="{fill}" stroke="{colour}" stroke-width="2" class="marker"'
    r = 5.0
    if shape == "circle":
        return f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="{_fmt(r)}" {paint}/>'
    if shape == "square":
        size = 2 * r - 1
        return (
            f'<rect x="{_fmt(x - size / 2)}" y="{_fmt(y - size / 2)}" width="{_fmt(size)}" '
            f'height="{_fmt(size)}" {paint}/>'
        )
    outline = {
        "triangle": ((0, -1.3), (1.2, 0.9), (-1.2, 0.9)),
        "triangle-down": ((0, 1.3), (1.2, -0.9), (-1.2, -0.9)),
        "diamond": ((0, -1.35), (1.1, 0), (0, 1.35), (-1.1, 0)),
        "cross": ((-1, -1), (1, 1), (0, 0), (1, -1), (-1, 1), (0, 0)),
    }[shape]
    path = " ".join(f"{'M' if i == 0 else 'L'}{_fmt(x + dx * r)},{_fmt(y + dy * r)}"
                    for i, (dx, dy) in enumerate(outline))  # fmt: skip
    closing = "" if shape == "cross" else " Z"
    return f'<path d="{path}{closing}" {paint}/>'


def period_treatment_chart_svg(
    points: Iterable[tuple[object, ...]],
    *,
    title: str,
    y_label: str,
    y_range: tuple[Number, Number] = (0, 100),
    interval_label: str = "95% CI of the mean",
    element_id: str | None = None,
    periods: int | None = None,
) -> str:
    """An accessible SVG line chart: mean (marker) with interval (error bar) per period (x axis
    1..`periods`, default the highest period given; pass the study's number of periods to show
    periods not reached yet) and treatment (one series each, sorted by label).

    `points` are (period, treatment_label, n, mean, ci_low, ci_high); a cell whose mean is None
    is skipped. Higher values are drawn higher. The <svg> has role="img" and aria-labelledby
    pointing at its <title> and <desc>; each point carries its own <title> (tooltip).
    `element_id` prefixes those ids (default: derived from the content, so the string is
    deterministic; pass one when a page could show two identical charts). All text is escaped.
    ValueError for bad points (see period_treatment_table), a bad y_range, element_id or
    periods, or more than len(SERIES_STYLES) treatments.
    """
    # str() first: a lazy translation proxy would otherwise put its memory address in the id.
    title, y_label, interval_label = str(title), str(y_label), str(interval_label)
    cells = _points_parse(points)
    labels = sorted({c.treatment for c in cells})
    if len(labels) > len(SERIES_STYLES):
        raise ValueError(f"at most {len(SERIES_STYLES)} treatments can be told apart")
    if element_id is None:
        content = (cells, title, y_label, y_range, interval_label, periods)
        digest = hashlib.sha256(repr(content).encode())
        element_id = f"chart-{digest.hexdigest()[:12]}"
    if not _ID.match(element_id):
        raise ValueError(f"element_id must be a simple identifier, got {element_id!r}")
    plotted = [c for c in cells if c.mean is not None]
    data = [v for c in plotted for v in (c.mean, c.ci_low, c.ci_high) if v is not None]
    low, high, ticks = _axis(y_range, data)
    highest = max((c.period for c in cells), default=0)
    if periods is None:
        periods = highest
    elif isinstance(periods, bool) or not isinstance(periods, int) or periods < highest:
        raise ValueError(f"periods must be an integer >= the highest period given ({highest})")
    band = (RIGHT - LEFT) / max(periods, 1)
    dodge = min(10.0, band / (len(labels) + 1))

    def x_of(period: int, series: int) -> float:
        # Series sit side by side within the period's band so error bars do not overlap.
        return LEFT + (period - 0.5) * band + (series - (len(labels) - 1) / 2) * dodge

    def y_of(value: float) -> float:
        return BOTTOM - (value - low) / (high - low) * (BOTTOM - TOP)

    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    names = ", ".join(labels) if labels else "no treatment"
    desc = (
        f"Mean {y_label} per period (1 to {periods}) for {names}; error bars show the "
        f"{interval_label}. Periods without data are left blank. The same numbers are in the "
        "table that accompanies this chart."
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{title_id} {desc_id}" '
        'font-family="sans-serif" font-size="12">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<g class="y-axis"><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}" '
        'stroke="#333333"/>',
    ]
    for tick in ticks:
        y = _fmt(y_of(tick))
        out.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{RIGHT}" y2="{y}" stroke="#dddddd"/>'
            f'<text x="{LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" '
            f'class="y-tick">{_label(tick)}</text>'
        )
    middle = _fmt((TOP + BOTTOM) / 2)
    out.append(
        f'<text x="18" y="{middle}" text-anchor="middle" transform="rotate(-90 18 {middle})">'
        f"{escape(y_label)}</text></g>"
    )
    out.append(
        f'<g class="x-axis"><line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" '
        'stroke="#333333"/>'
    )
    for period in range(1, periods + 1):
        x = _fmt(LEFT + (period - 0.5) * band)
        out.append(
            f'<line x1="{x}" y1="{BOTTOM}" x2="{x}" y2="{BOTTOM + 5}" stroke="#333333"/>'
            f'<text x="{x}" y="{BOTTOM + 18}" text-anchor="middle" class="x-tick">{period}</text>'
        )
    out.append(
        f'<text x="{_fmt((LEFT + RIGHT) / 2)}" y="{HEIGHT - 12}" text-anchor="middle">'
        "Period</text></g>"
    )
    if not plotted:
        out.append(
            f'<text x="{_fmt((LEFT + RIGHT) / 2)}" y="{middle}" text-anchor="middle">No data</text>'
        )
    for series, label in enumerate(labels):
        colour, shape, filled, dash = SERIES_STYLES[series]
        mine = {
            c.period: (c, c.mean) for c in plotted if c.treatment == label and c.mean is not None
        }
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<g class="series" data-series="{series}" data-treatment="{_attr(label)}">')
        # One line per run of consecutive periods with data: a gap stays a gap.
        run: list[str] = []
        for period in [*range(1, periods + 1), periods + 1]:
            if period in mine:
                run.append(f"{_fmt(x_of(period, series))},{_fmt(y_of(mine[period][1]))}")
                continue
            if len(run) > 1:
                out.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"{dash_attr} class="series-line"/>'
                )
            run = []
        for period, (cell, mean) in sorted(mine.items()):
            x, y = x_of(period, series), y_of(mean)
            tip = f"{label}, period {period}: mean {_label(mean)}, n = {cell.n}"
            bar = ""
            if cell.ci_low is not None and cell.ci_high is not None:
                tip += f", {interval_label} {_label(cell.ci_low)} to {_label(cell.ci_high)}"
                y_low, y_high, left, right = (
                    _fmt(v) for v in (y_of(cell.ci_low), y_of(cell.ci_high), x - 4, x + 4)
                )
                bar = (
                    f'<path d="M{_fmt(x)},{y_low} V{y_high} M{left},{y_low} H{right} '
                    f'M{left},{y_high} H{right}" stroke="{colour}" stroke-width="1.5" '
                    'fill="none" class="error-bar"/>'
                )
            out.append(
                f'<g class="point" data-period="{period}"><title>{escape(tip)}</title>'
                f"{bar}{_marker(shape, x, y, colour, filled)}</g>"
            )
        out.append("</g>")
    out.append('<g class="legend">')
    x = float(LEFT)
    for series, label in enumerate(labels):
        colour, shape, filled, dash = SERIES_STYLES[series]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{_fmt(x)}" y1="46" x2="{_fmt(x + 30)}" y2="46" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
            + _marker(shape, x + 15, 46, colour, filled).replace('class="marker"', 'class="key"')
            + f'<text x="{_fmt(x + 36)}" y="46" dominant-baseline="middle">{escape(label)}</text>'
        )
        # Rough text width so long labels do not overlap; exactness does not matter here.
        x += 52 + 7 * len(label)
    out.append(
        f'<text x="{LEFT}" y="66" fill="#444444">Error bars: {escape(interval_label)}</text></g>'
    )
    out.append("</svg>")
    return "\n".join(out)
