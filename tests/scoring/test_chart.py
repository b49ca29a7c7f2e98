"""The period x treatment chart: valid, accessible, escaped, deterministic SVG that never draws
a missing cell, maps values the right way up, and stays readable in greyscale; plus its table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction

import pytest

from scoring.chart import (
    BOTTOM,
    TOP,
    period_treatment_chart_svg,
    period_treatment_table,
)

SVG = "{http://www.w3.org/2000/svg}"
POINTS = [
    (1, "Anakinra", 10, 50.5, 45.0, 56.0),
    (2, "Anakinra", 9, 48.0, 41.0, 55.0),
    (3, "Anakinra", 0, None, None, None),
    (4, "Anakinra", 8, Decimal("40"), Decimal("30"), Decimal("50")),
    (1, "Placebo", 10, 60.5, 55.0, 66.0),
    (2, "Placebo", 10, 62.0, 57.0, 67.0),
    (3, "Placebo", 7, Fraction(63), 50.0, 76.0),
    (4, "Placebo", 1, 61.0, None, None),
]


def parse(text: str) -> ET.Element:
    # Our own output, parsed to prove it is well-formed XML: not untrusted input.
    return ET.fromstring(text)  # noqa: S314


def render(points: list[tuple[object, ...]] = POINTS, **kwargs: object) -> ET.Element:
    options: dict[str, object] = {"title": "Pain", "y_label": "Score (0-100)", **kwargs}
    return parse(period_treatment_chart_svg(points, **options))  # type: ignore[arg-type]


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in e.get("class", "").split()]


def marker_y(marker: ET.Element) -> float:
    if marker.tag == f"{SVG}circle":
        return float(marker.get("cy"))
    if marker.tag == f"{SVG}rect":
        return float(marker.get("y")) + float(marker.get("height")) / 2
    raise AssertionError(marker.tag)


def test_chart_is_valid_svg_with_role_title_and_description() -> None:
    root = render()
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Pain"
    assert desc is not None and "95% CI" in desc.text and "table" in desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_chart_has_no_script_or_external_resource() -> None:
    text = period_treatment_chart_svg(POINTS, title="Pain", y_label="Score")
    for forbidden in ("<script", "href", "url(", "<image", "<foreignObject", "@import"):
        assert forbidden not in text


def test_one_marker_per_non_empty_cell() -> None:
    root = render()
    assert len(by_class(root, "marker")) == 7
    # Period 4 placebo has n = 1 and no interval: a marker but no error bar.
    assert len(by_class(root, "error-bar")) == 6


def test_empty_cells_are_skipped_never_drawn_as_zero() -> None:
    root = render()
    anakinra = next(g for g in by_class(root, "series") if g.get("data-treatment") == "Anakinra")
    periods = [g.get("data-period") for g in by_class(anakinra, "point")]
    assert periods == ["1", "2", "4"]
    zero_y = BOTTOM
    assert all(marker_y(m) != pytest.approx(zero_y) for m in by_class(root, "marker"))
    # The gap at period 3 breaks the line: only periods 1-2 are joined for Anakinra.
    (line,) = by_class(anakinra, "series-line")
    assert len(line.get("points").split()) == 2


def test_labels_with_markup_characters_are_escaped() -> None:
    points = [(1, 'Drug <&> "A"', 3, 10.0, 5.0, 15.0)]
    text = period_treatment_chart_svg(points, title="Pain <&>", y_label="y <&>")
    root = parse(text)
    assert root.find(f"{SVG}title").text == "Pain <&>"
    assert "<&>" not in text
    (series,) = by_class(root, "series")
    assert series.get("data-treatment") == 'Drug <&> "A"'
    assert 'Drug <&> "A"' in [e.text for e in root.iter(f"{SVG}text")]


def test_same_input_gives_identical_output() -> None:
    first = period_treatment_chart_svg(POINTS, title="Pain", y_label="Score")
    again = period_treatment_chart_svg(list(reversed(POINTS)), title="Pain", y_label="Score")
    assert first == again


def test_higher_values_are_drawn_higher_and_inside_the_plot_area() -> None:
    root = render()
    placebo = next(g for g in by_class(root, "series") if g.get("data-treatment") == "Placebo")
    ys = [marker_y(m) for m in by_class(placebo, "marker")]  # means 60.5, 62, 63, 61
    assert ys[2] < ys[1] < ys[3] < ys[0]
    for marker in by_class(root, "marker"):
        assert TOP <= marker_y(marker) <= BOTTOM
    # 0 sits on the bottom edge and 100 on the top edge of the default 0-100 range.
    ticks = {e.text: float(e.get("y")) for e in by_class(root, "y-tick")}
    assert ticks["0"] == BOTTOM and ticks["100"] == TOP


def test_values_outside_the_range_widen_the_axis_instead_of_leaving_the_plot() -> None:
    root = render([(1, "A", 5, 2.0, -6.5, 10.5)], y_range=(0, 100))
    ticks = {e.text: float(e.get("y")) for e in by_class(root, "y-tick")}
    assert "-20" in ticks and ticks["-20"] == BOTTOM
    (bar,) = by_class(root, "error-bar")
    ys = [float(part.split(",")[1]) for part in bar.get("d").split() if part.startswith("M")]
    assert all(TOP <= y <= BOTTOM for y in ys)


def test_series_differ_by_marker_shape_and_dash_not_only_colour() -> None:
    root = render()
    series = by_class(root, "series")
    shapes = {g.get("data-treatment"): by_class(g, "marker")[0].tag for g in series}
    dashes = {g.get("data-treatment"): by_class(g, "series-line")[0].get("stroke-dasharray")
              for g in series}  # fmt: skip
    assert len(set(shapes.values())) == 2
    assert len(set(dashes.values())) == 2
    fills = {by_class(g, "marker")[0].get("fill") for g in series}
    assert len(fills) == 2  # one filled, one open: also distinct in greyscale


def test_legend_names_every_series_and_the_interval() -> None:
    root = render(interval_label="mean ± SD")
    (legend,) = by_class(root, "legend")
    texts = [e.text for e in legend.iter(f"{SVG}text")]
    assert texts[:2] == ["Anakinra", "Placebo"]
    assert "mean ± SD" in texts[-1]
    assert len(by_class(legend, "key")) == 2


def test_chart_with_no_data_says_so() -> None:
    root = render([(1, "A", 0, None, None, None)])
    assert not by_class(root, "marker")
    assert "No data" in [e.text for e in root.iter(f"{SVG}text")]


def test_element_id_prefixes_the_accessible_ids() -> None:
    root = render(element_id="pain-chart")
    assert root.get("aria-labelledby") == "pain-chart-title pain-chart-desc"
    with pytest.raises(ValueError, match="element_id"):
        render(element_id='x" onload="alert(1)')


@pytest.mark.parametrize(
    "points",
    [
        [(1, "A", 3, 10.0, 12.0, 15.0)],
        [(1, "A", 3, 10.0, 5.0, None)],
        [(1, "A", 0, None, 5.0, 15.0)],
        [(1, "A", 0, 10.0, None, None)],
        [(0, "A", 3, 10.0, None, None)],
        [(1, "A", 3, 10.0, None, None), (1, "A", 4, 11.0, None, None)],
        [(1, "A", 3, float("nan"), None, None)],
    ],
    ids=["interval excludes mean", "half interval", "interval without mean", "mean with n 0",
         "period 0", "duplicate cell", "NaN"],
)  # fmt: skip
def test_inconsistent_points_are_rejected(points: list[tuple[object, ...]]) -> None:
    with pytest.raises(ValueError):
        period_treatment_chart_svg(points, title="t", y_label="y")
    with pytest.raises(ValueError):
        period_treatment_table(points)


def test_reversed_y_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="y_range"):
        render(y_range=(100, 0))


def test_table_gives_the_same_numbers_including_empty_cells() -> None:
    rows = period_treatment_table(POINTS)
    assert len(rows) == 8
    assert [(r["period"], r["treatment"]) for r in rows][:3] == [
        (1, "Anakinra"), (1, "Placebo"), (2, "Anakinra"),
    ]  # fmt: skip
    assert rows[0] == {
        "period": 1, "treatment": "Anakinra", "n": 10, "mean": 50.5, "ci_low": 45.0,
        "ci_high": 56.0,
    }  # fmt: skip
    empty = next(r for r in rows if r["period"] == 3 and r["treatment"] == "Anakinra")
    assert (empty["n"], empty["mean"], empty["ci_low"]) == (0, None, None)
    assert next(r for r in rows if r["period"] == 3 and r["treatment"] == "Placebo")["mean"] == 63.0


def test_axis_can_show_the_studys_periods_not_reached_yet() -> None:
    root = render(periods=6)
    assert [e.text for e in by_class(root, "x-tick")] == ["1", "2", "3", "4", "5", "6"]
    assert len(by_class(render(), "x-tick")) == 4
    with pytest.raises(ValueError, match="periods"):
        render(periods=3)
