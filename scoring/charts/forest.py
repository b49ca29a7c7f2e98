"""Forest plot of period-adjusted treatment effects (estimate and interval) across outcomes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

from scoring.charts._render import Chart, check_element_id, display, figure, number, svg_of


class ForestRow(NamedTuple):
    """One outcome: label, estimate with interval (None: not estimable, `detail` says why or
    gives n / p for the text column)."""

    label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    detail: str = ""


def _rows_parse(rows: Iterable[tuple[object, ...]]) -> list[ForestRow]:
    parsed = []
    for raw in rows:
        row = ForestRow(*raw)  # type: ignore[arg-type]
        if not isinstance(row.label, str) or not row.label:
            raise ValueError(f"label must be a non-empty string, got {row.label!r}")
        estimate, low, high = (
            number(v, w) for v, w in zip(row[1:4], ("estimate", "ci_low", "ci_high"), strict=True)
        )
        if (low is None) != (high is None):
            raise ValueError(f"{row.label}: give both interval ends or neither")
        if estimate is None and low is not None:
            raise ValueError(f"{row.label}: an interval without an estimate")
        if (
            estimate is not None
            and low is not None
            and high is not None
            and not (low <= estimate <= high)
        ):
            raise ValueError(f"{row.label}: the interval must contain the estimate")
        parsed.append(ForestRow(row.label, estimate, low, high, str(row.detail)))
    return parsed


def _limit(values: list[float]) -> float:
    """A symmetric axis half-width around 0 with a little room, at a 1-2-5 step."""
    largest = max((abs(v) for v in values), default=0.0) * 1.08 or 1.0
    power = 10 ** math.floor(math.log10(largest))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= largest)


def forest_chart(
    rows: Iterable[tuple[object, ...]],
    *,
    title: str,
    x_label: str,
    element_id: str,
    interval_label: str = "95% CI",
    favours: tuple[str, str] | None = None,
    decimals: int = 1,
) -> Chart:
    """One row per outcome, top to bottom in the given order: estimate (square) and interval
    (line) on a common axis symmetric around 0 (no effect, a dashed line), and on the right the
    estimate and interval as text, rounded half away from zero to `decimals`. A row whose
    estimate is None is listed as "not estimable" with its detail. Outcomes on different scales
    (points vs days) should go in separate forest plots, or pass standardized effects.
    favours: labels for the left and right of 0, e.g. ("favours anakinra", "favours placebo").
    ValueError for bad rows or element_id.
    """
    title, x_label = str(title), str(x_label)
    check_element_id(element_id)
    parsed = _rows_parse(rows)
    ends = [v for r in parsed for v in (r.estimate, r.ci_low, r.ci_high) if v is not None]
    limit = _limit(ends)
    missing = [r.label for r in parsed if r.estimate is None]
    description = (
        f"Forest plot of {x_label} with {interval_label} for {len(parsed)} outcomes "
        f"({', '.join(r.label for r in parsed) or 'none'}). The dashed line at 0 is no "
        f"difference; the axis runs from {display(-limit, 0)} to {display(limit, 0)}."
        + (f" {', '.join(missing)}: not estimable." if missing else "")
        + " The same numbers are in the table that accompanies this chart."
    )
    height = 1.5 + 0.42 * max(len(parsed), 1)
    with figure(element_id, 7.2, height) as fig:
        fig.subplots_adjust(left=0.3, right=0.62, top=1 - 0.55 / height, bottom=0.75 / height)
        fig.suptitle(
            title, x=0.02, y=1 - 0.08 / height, ha="left", va="top", fontsize=12, fontweight="bold"
        )
        ax = fig.add_subplot()
        ax.grid(False)
        ax.spines["left"].set_visible(False)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(len(parsed) - 0.5, -0.5)
        ax.set_yticks(range(len(parsed)), [r.label for r in parsed])
        ax.tick_params(axis="y", length=0)
        ax.axvline(0, color="#666666", linestyle="--", linewidth=1, gid="no-effect")
        ax.set_xlabel(x_label)
        if favours:
            for x, text, align in ((0.0, favours[0], "left"), (1.0, favours[1], "right")):
                ax.text(
                    x,
                    1.01,
                    f"{'← ' if align == 'left' else ''}{text}{' →' if align == 'right' else ''}",
                    transform=ax.transAxes,
                    ha=align,
                    va="bottom",
                    fontsize=8.5,
                    color="#444444",
                )
        for y, row in enumerate(parsed):
            if row.estimate is None:
                text = "not estimable" + (f" ({row.detail})" if row.detail else "")
            else:
                if row.ci_low is not None and row.ci_high is not None:
                    ax.hlines(
                        y,
                        row.ci_low,
                        row.ci_high,
                        color="#0072B2",
                        linewidth=2,
                        gid=f"interval-{y}",
                    )
                ax.plot(
                    [row.estimate],
                    [y],
                    marker="s",
                    markersize=7,
                    color="#0072B2",
                    linestyle="none",
                    gid=f"estimate-{y}",
                )
                text = (
                    display(row.estimate, decimals)
                    + (
                        f" ({display(row.ci_low, decimals)} to {display(row.ci_high, decimals)})"
                        if row.ci_low is not None
                        else ""
                    )
                    + (f"  {row.detail}" if row.detail else "")
                )
            ax.text(
                1.03,
                y,
                text,
                transform=ax.get_yaxis_transform(),
                ha="left",
                va="center",
                fontsize=8.5,
                gid=f"text-{y}",
            )
        svg = svg_of(fig, element_id=element_id, title=title, description=description)
    table: list[dict[str, Any]] = [row._asdict() for row in parsed]
    notes = tuple(f"{label}: not estimable" for label in missing)
    return Chart(svg, table, title, description, element_id, notes)
