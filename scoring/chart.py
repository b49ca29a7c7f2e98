"""The period x treatment chart under its original names (scoring.summaries uses them).

The drawing is scoring.charts.means_by_period_chart (matplotlib); these wrappers return its
SVG string and its table. New code should call scoring.charts directly, which returns both.
"""

from __future__ import annotations

from collections.abc import Iterable

from scoring.charts import SERIES_STYLES, ChartPoint, means_by_period_chart, points_parse

__all__ = ["SERIES_STYLES", "ChartPoint", "period_treatment_chart_svg", "period_treatment_table"]


def period_treatment_table(points: Iterable[tuple[object, ...]]) -> list[dict[str, object]]:
    """The chart's numbers as rows for an HTML table (the chart's text alternative): one dict
    per cell with keys period, treatment, n, mean, ci_low, ci_high, sorted by period then
    treatment. Empty cells are kept (mean None) so the table shows them as empty; values are
    floats at full precision, for the template to round. Rejects what points_parse rejects."""
    return [point._asdict() for point in points_parse(points)]


def period_treatment_chart_svg(
    points: Iterable[tuple[object, ...]],
    *,
    title: str,
    y_label: str,
    y_range: tuple[object, object] = (0, 100),
    interval_label: str = "95% CI of the mean",
    element_id: str | None = None,
    periods: int | None = None,
) -> str:
    """The SVG of scoring.charts.means_by_period_chart (same arguments and errors)."""
    return means_by_period_chart(
        points,
        title=title,
        y_label=y_label,
        y_range=y_range,
        interval_label=interval_label,
        element_id=element_id,
        periods=periods,
    ).svg
