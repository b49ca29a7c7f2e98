"""Turning a matplotlib Figure into an accessible, deterministic SVG string for inline HTML.

matplotlib's SVG is made reproducible here: a fixed svg.hashsalt (its ids are hashes of salt and
content), no date or creator metadata, text kept as <text> (svg.fonttype "none": readable by
screen readers and searchable, and no glyph outlines that depend on the installed fonts), the
bundled DejaVu Sans for layout metrics. Every id is then prefixed with the chart's element id so
two charts on one page never share an id, and the root gets role="img" with <title> and <desc>.
No pyplot: Figures are created directly, so no GUI backend is ever chosen (Agg is selected for
the raster previews and any other user in the process).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

# Okabe & Ito, "Color Universal Design": distinguishable with the common colour-vision
# deficiencies; each series also has its own marker, fill and dash, so greyscale works too.
SERIES_STYLES: tuple[dict[str, Any], ...] = (
    {"color": "#0072B2", "marker": "o", "fill": True, "linestyle": "-"},
    {"color": "#D55E00", "marker": "s", "fill": False, "linestyle": "--"},
    {"color": "#009E73", "marker": "^", "fill": True, "linestyle": ":"},
    {"color": "#CC79A7", "marker": "D", "fill": False, "linestyle": "-."},
    {"color": "#E69F00", "marker": "v", "fill": True, "linestyle": (0, (4, 2))},
    {"color": "#56B4E9", "marker": "X", "fill": False, "linestyle": (0, (1, 3))},
)
_RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "path.simplify": False,
}
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_ELEMENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_OPEN_TAG = re.compile(r"<svg\b[^>]*>")


@dataclass(frozen=True)
class Chart:
    """An inline SVG and the same numbers as rows for an HTML table (its text alternative).

    `svg` starts with "<svg" (no XML declaration or DOCTYPE, so it can be placed in HTML as is);
    `table` holds full-precision floats, for the template to round; `description` is the
    <desc> text."""

    svg: str
    table: list[dict[str, Any]]
    title: str
    description: str
    element_id: str
    notes: tuple[str, ...] = field(default=())


def check_element_id(element_id: str) -> str:
    if not isinstance(element_id, str) or not _ELEMENT_ID.match(element_id):
        raise ValueError(f"element_id must be a simple identifier, got {element_id!r}")
    return element_id


def number(value: object, what: str) -> float | None:
    """A finite float or None. TypeError for a non-number, ValueError for NaN or infinity."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction):
        raise TypeError(f"{what} must be a number or None, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return result


def axis_range(y_range: tuple[object, object]) -> tuple[float, float]:
    low, high = (number(v, "y_range") for v in y_range)
    if low is None or high is None or not low < high:
        raise ValueError(f"y_range must be (low, high) with low < high, got {y_range!r}")
    return low, high


def display(value: float | None, decimals: int = 1) -> str:
    """A number for a label: rounded half away from zero (the project's display rule; Python's
    round() rounds half to even), with a true minus sign (as on matplotlib's ticks), "-0"
    shown as "0", None as an em dash."""
    if value is None:
        return "—"
    text = str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP))
    if text.startswith("-"):
        text = "\N{MINUS SIGN}" + text[1:] if text.strip("-0.") else text[1:]
    return text


@contextmanager
def figure(salt: str, width: float, height: float) -> Iterator[Figure]:
    """A Figure drawn with the project's fixed settings (rc_context, so nothing global)."""
    with matplotlib.rc_context({**_RC, "svg.hashsalt": salt}):
        yield Figure(figsize=(width, height), dpi=100)


def svg_of(fig: Figure, *, element_id: str, title: str, description: str) -> str:
    """The figure as an accessible SVG string (see the module docstring). Call inside the
    figure() context so the same settings apply when it is drawn."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata=_METADATA)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # Prefix every id and every reference to one, so ids stay unique on a page of charts.
    text = re.sub(r'\bid="([^"]+)"', rf'id="{element_id}-\1"', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{element_id}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{element_id}-\1)", text)
    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    opening = _OPEN_TAG.search(text)
    assert opening is not None  # matplotlib always writes one
    tag = opening.group(0)[:-1] + (
        f' id="{element_id}" role="img" aria-labelledby="{title_id} {desc_id}" '
        'style="max-width: 100%; height: auto">'
    )
    accessible = (
        f'\n <title id="{title_id}">{escape(title)}</title>'
        f'\n <desc id="{desc_id}">{escape(description)}</desc>'
    )
    return text[: opening.start()] + tag + accessible + text[opening.end() :]


def series_style(index: int) -> dict[str, Any]:
    """Line2D keyword arguments of the index-th series."""
    style = SERIES_STYLES[index]
    return {
        "color": style["color"],
        "marker": style["marker"],
        "linestyle": style["linestyle"],
        "markerfacecolor": style["color"] if style["fill"] else "#ffffff",
        "markeredgecolor": style["color"],
        "markeredgewidth": 1.5,
        "markersize": 7,
        "linewidth": 1.8,
    }
