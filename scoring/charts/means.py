"""Mean of one outcome per period and treatment, with its interval and n under each point."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from scoring.charts._render import (
    SERIES_STYLES,
    Chart,
    axis_range,
    check_element_id,
    display,
    figure,
    number,
    series_style,
    svg_of,
)


class ChartPoint(NamedTuple):
    """One cell: a period and a treatment. mean None means no data (n 0 or None)."""

    period: int
    treatment: str
    n: int | None
    mean: float | None
    ci_low: float | None
    ci_high: float | None


def points_parse(points: Iterable[tuple[object, ...]]) -> list[ChartPoint]:
    """Validated (period, treatment, n, mean, ci_low, ci_high) in display order (period, then
    treatment label). ValueError/TypeError for a bad period, count or value, a duplicate cell,
    or an interval that does not contain its mean."""
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
            number(v, w) for v, w in zip(values, ("mean", "ci_low", "ci_high"), strict=True)
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


def _runs(periods: list[int]) -> list[list[int]]:
    """Consecutive runs of periods: a period without data breaks the line."""
    runs: list[list[int]] = []
    for period in periods:
        if runs and runs[-1][-1] == period - 1:
            runs[-1].append(period)
        else:
            runs.append([period])
    return runs


def _series_draw(
    ax: Axes,
    series: int,
    label: str,
    cells: list[ChartPoint],
    *,
    x_of: Callable[[int, int], float],
    y_limits: tuple[float, float],
    n_row: float,
) -> None:
    """One treatment: a line per run of consecutive periods, error bars cut at the axis (no cap
    on a cut end), markers, and its row of n under the points (n_row in axes coordinates)."""
    style = series_style(series)
    low, high = y_limits
    mine = {c.period: c for c in cells}
    for run_number, run in enumerate(_runs(sorted(mine))):
        if len(run) > 1:
            ax.plot(
                [x_of(p, series) for p in run],
                [mine[p].mean for p in run],
                color=style["color"],
                linestyle=style["linestyle"],
                linewidth=style["linewidth"],
                gid=f"series-{series}-line-{run_number}",
            )
    for period, cell in sorted(mine.items()):
        if cell.ci_low is None or cell.ci_high is None:
            continue
        x = x_of(period, series)
        ax.vlines(
            x,
            max(cell.ci_low, low),
            min(cell.ci_high, high),
            color=style["color"],
            linewidth=1.3,
            gid=f"series-{series}-interval-{period}",
        )
        caps = [
            y
            for y, cut in ((cell.ci_low, cell.ci_low < low), (cell.ci_high, cell.ci_high > high))
            if not cut
        ]
        if caps:
            ax.hlines(
                caps,
                x - 0.05,
                x + 0.05,
                color=style["color"],
                linewidth=1.3,
                gid=f"series-{series}-caps-{period}",
            )
    if mine:
        marker_style = {k: v for k, v in style.items() if k not in ("linestyle", "linewidth")}
        ax.plot(
            [x_of(p, series) for p in sorted(mine)],
            [mine[p].mean for p in sorted(mine)],
            linestyle="none",
            zorder=3,
            gid=f"series-{series}-markers",
            **marker_style,
        )
    ax.text(
        -0.01,
        n_row,
        f"n, {label}",
        transform=ax.transAxes,
        ha="right",
        va="center",
        color=style["color"],
        fontsize=8.5,
        clip_on=False,
        gid=f"series-{series}-n-label",
    )
    below = blended_transform_factory(ax.transData, ax.transAxes)
    for period, cell in sorted(mine.items()):
        ax.text(
            x_of(period, series),
            n_row,
            str(cell.n),
            transform=below,
            ha="center",
            va="center",
            color=style["color"],
            fontsize=8.5,
            clip_on=False,
            gid=f"series-{series}-n-{period}",
        )


def means_by_period_chart(
    points: Iterable[tuple[object, ...]],
    *,
    title: str,
    y_label: str,
    y_range: tuple[object, object] = (0, 100),
    interval_label: str = "95% CI of the mean",
    element_id: str | None = None,
    periods: int | None = None,
) -> Chart:
    """Mean (marker) with interval (error bar) per period (x axis 1..`periods`, default the
    highest period given) and treatment (one series each, sorted by label), n under each point.

    The y axis is fixed to `y_range` (the scale's range: 0-100 for the EHP-30 scales and the
    VAS, the given range for cycle length): an interval reaching past it is cut at the edge,
    without a cap there, and said so in the description; a mean outside it (possible only for
    an unbounded outcome) widens the axis just enough, never hides a point. Cells whose mean is
    None are skipped, never drawn as 0, and break the line. Each series has its own colour,
    marker, fill and dash. element_id prefixes every id in the SVG (default: derived from the
    content). ValueError for bad points (see points_parse), a bad y_range, element_id or
    periods, or more treatments than SERIES_STYLES can tell apart.
    """
    title, y_label, interval_label = str(title), str(y_label), str(interval_label)
    cells = points_parse(points)
    labels = sorted({c.treatment for c in cells})
    if len(labels) > len(SERIES_STYLES):
        raise ValueError(f"at most {len(SERIES_STYLES)} treatments can be told apart")
    low, high = axis_range(y_range)
    highest = max((c.period for c in cells), default=0)
    if periods is None:
        periods = max(highest, 1)
    elif isinstance(periods, bool) or not isinstance(periods, int) or periods < max(highest, 1):
        raise ValueError(f"periods must be an integer >= the highest period given ({highest})")
    if element_id is None:
        content = repr((cells, title, y_label, y_range, interval_label, periods))
        element_id = f"chart-{hashlib.sha256(content.encode()).hexdigest()[:12]}"
    check_element_id(element_id)
    plotted = [c for c in cells if c.mean is not None]
    means = [c.mean for c in plotted if c.mean is not None]
    notes: list[str] = []
    if means and (min(means) < low or max(means) > high):
        span = high - low
        low, high = min(low, min(means) - 0.05 * span), max(high, max(means) + 0.05 * span)
        notes.append("Some means lie outside the expected range, so the axis was widened.")
    clipped = any(
        c.ci_low is not None and c.ci_high is not None and (c.ci_low < low or c.ci_high > high)
        for c in plotted
    )
    if clipped:
        notes.append(
            f"Intervals reaching past {display(low, 0)} to {display(high, 0)} are cut "
            "at the axis edge (no cap there); the table gives them in full."
        )
    dodge = 0.12 if len(labels) > 1 else 0.0

    def x_of(period: int, series: int) -> float:
        return period + (series - (len(labels) - 1) / 2) * dodge

    description = (
        f"Mean {y_label} per period (1 to {periods}) for "
        f"{', '.join(labels) if labels else 'no treatment'}; error bars show the "
        f"{interval_label}; the number of values (n) is printed under each point. The y axis "
        f"runs from {display(low, 0)} to {display(high, 0)}. Periods without data are left "
        "blank. " + " ".join(notes) + " The same numbers are in the table that accompanies "
        "this chart."
    ).replace("  ", " ")
    rows_below = max(len(labels), 1)
    # Inches: title and legend above the axes, period labels and one n row per series below.
    top_in, bottom_in, axes_in = 0.95, 0.62 + 0.2 * rows_below, 2.9
    height = top_in + axes_in + bottom_in
    with figure(element_id, 7.2, height) as fig:
        fig.subplots_adjust(
            left=0.22, right=0.97, top=1 - top_in / height, bottom=bottom_in / height
        )
        fig.suptitle(
            title, x=0.02, y=1 - 0.08 / height, ha="left", va="top", fontsize=12, fontweight="bold"
        )
        ax = fig.add_subplot()
        ax.set_xlim(0.5, periods + 0.5)
        ax.set_ylim(low, high)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
        ax.set_xticks(range(1, periods + 1))
        ax.set_xlabel("Period")
        ax.set_ylabel(y_label)
        if not plotted:
            ax.text(
                0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", gid="no-data"
            )
        for series, label in enumerate(labels):
            _series_draw(
                ax,
                series,
                label,
                [c for c in plotted if c.treatment == label],
                x_of=x_of,
                y_limits=(low, high),
                n_row=-(0.62 + 0.2 * series) / axes_in,
            )
        handles = [
            Line2D([], [], **series_style(series), label=label)
            for series, label in enumerate(labels)
        ]
        handles.append(
            Line2D(
                [],
                [],
                color="#555555",
                marker="|",
                markersize=12,
                linestyle="none",
                label=f"error bar: {interval_label}",
            )
        )
        legend = fig.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0.02, 1 - 0.38 / height),
            ncols=min(len(handles), 4),
            frameon=False,
            fontsize=9,
            borderaxespad=0,
            handlelength=2.6,
        )
        legend.set_gid("legend")
        svg = svg_of(fig, element_id=element_id, title=title, description=description)
    table: list[dict[str, Any]] = [cell._asdict() for cell in cells]
    return Chart(svg, table, title, description, element_id, tuple(notes))
