"""The summary charts (matplotlib, as inline SVG): valid, accessible, escaped, self-contained and
deterministic; a missing cell is never drawn; the y axis keeps the scale's range with n under
each point; the profile and forest plots; and each chart's table, its text alternative."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from scoring.charts import (
    SERIES_STYLES,
    forest_chart,
    means_by_period_chart,
    profile_chart,
)
from scoring.statistics import block_means
from tests.scoring.statistics_data import DESIGN, pilot_like_observations

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
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
    options: dict[str, object] = {
        "title": "Pain", "y_label": "Score (0-100)", "element_id": "c", **kwargs,
    }  # fmt: skip
    return parse(means_by_period_chart(points, **options).svg)  # type: ignore[arg-type]


def group(root: ET.Element, element_id: str) -> ET.Element | None:
    return next((e for e in root.iter() if e.get("id") == element_id), None)


def marker_ys(root: ET.Element, element_id: str) -> list[float]:
    markers = group(root, element_id)
    assert markers is not None, element_id
    return [float(use.get("y")) for use in markers.iter(f"{SVG}use")]


def texts(root: ET.Element) -> list[str]:
    return [e.text for e in root.iter(f"{SVG}text") if e.text]


def y_ticks(root: ET.Element) -> list[str]:
    axis = group(root, "c-matplotlib.axis_2")
    return [e.text for e in axis.iter(f"{SVG}text")][:-1]  # the last is the axis label


def test_chart_is_valid_svg_with_role_title_and_description() -> None:
    chart = means_by_period_chart(POINTS, title="Pain", y_label="Score", element_id="pain")
    root = parse(chart.svg)
    assert chart.svg.startswith("<svg") and root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("id") == "pain"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Pain" == chart.title
    assert "95% CI" in desc.text and "table" in desc.text and "(n)" in desc.text
    assert desc.text == chart.description
    assert root.get("aria-labelledby") == "pain-title pain-desc"


def test_chart_is_self_contained_every_reference_points_inside() -> None:
    text = means_by_period_chart(POINTS, title="Pain", y_label="Score").svg
    for forbidden in ("<script", "<image", "<foreignObject", "@import", "<metadata", "<?xml",
                      "<!DOCTYPE", "Matplotlib", "matplotlib.org"):  # fmt: skip
        assert forbidden not in text
    root = parse(text)
    ids = {e.get("id") for e in root.iter()}
    hrefs = [e.get(XLINK) for e in root.iter() if e.get(XLINK)]
    urls = re.findall(r"url\(([^)]*)\)", text)
    assert hrefs and urls
    assert all(ref.startswith("#") and ref[1:] in ids for ref in hrefs + urls)


def test_every_id_is_prefixed_so_two_charts_share_no_id() -> None:
    first, second = render(element_id="pain"), render(element_id="vas")
    first_ids = [e.get("id") for e in first.iter() if e.get("id")]
    second_ids = {e.get("id") for e in second.iter() if e.get("id")}
    assert all(i == "pain" or i.startswith("pain-") for i in first_ids)
    assert len(first_ids) == len(set(first_ids)) and not set(first_ids) & second_ids


def test_one_marker_per_non_empty_cell_and_error_bars_only_with_an_interval() -> None:
    root = render()
    assert len(marker_ys(root, "c-series-0-markers")) == 3  # Anakinra: periods 1, 2, 4
    assert len(marker_ys(root, "c-series-1-markers")) == 4
    intervals = [e.get("id") for e in root.iter() if "-interval-" in (e.get("id") or "")]
    assert sorted(intervals) == sorted(
        [f"c-series-0-interval-{p}" for p in (1, 2, 4)]
        + [f"c-series-1-interval-{p}" for p in (1, 2, 3)]
    )  # placebo period 4 has n = 1 and no interval


def test_empty_cells_are_skipped_and_break_the_line() -> None:
    root = render()
    # Anakinra periods 1-2 are joined; period 4 stands alone; nothing at period 3 or at 0.
    line = group(root, "c-series-0-line-0")
    assert line is not None and group(root, "c-series-0-line-1") is None
    (path,) = line.iter(f"{SVG}path")
    assert path.get("d").count("L") == 1
    assert group(root, "c-series-0-n-3") is None and group(root, "c-series-0-interval-3") is None


def test_n_is_printed_under_each_point() -> None:
    root = render()
    for series, label in enumerate(("Anakinra", "Placebo")):
        for period, treatment, n, mean, *_ in POINTS:
            if treatment != label:
                continue
            cell = group(root, f"c-series-{series}-n-{period}")
            if mean is None:
                assert cell is None
            else:
                assert [t.text for t in cell.iter(f"{SVG}text")] == [str(n)]
        assert f"n, {label}" in texts(group(root, f"c-series-{series}-n-label"))


def test_higher_values_are_drawn_higher() -> None:
    ys = marker_ys(render(), "c-series-1-markers")  # placebo means 60.5, 62, 63, 61
    assert ys[2] < ys[1] < ys[3] < ys[0]


def test_y_axis_keeps_the_scales_range_and_cuts_wide_intervals() -> None:
    # Two values give a huge interval: the axis stays 0-100 (issue 15: it ran to -120..220).
    root = render([(1, "A", 2, 50.0, -120.0, 220.0), (2, "A", 5, 40.0, 30.0, 50.0)])
    ticks = y_ticks(root)
    assert ticks[0] == "0" and ticks[-1] == "100"
    assert group(root, "c-series-0-caps-1") is None  # both ends cut: no caps
    assert group(root, "c-series-0-caps-2") is not None
    assert "cut at the axis edge" in root.find(f"{SVG}desc").text


def test_the_given_range_is_used_for_cycle_length_and_widened_only_for_a_mean() -> None:
    inside = render([(1, "A", 5, 28.0, 26.0, 30.0)], y_range=(20, 40))
    assert y_ticks(inside)[0] == "20" and y_ticks(inside)[-1] == "40"
    outside = render([(1, "A", 5, 45.5, 44.0, 47.0)], y_range=(20, 40))
    description = outside.find(f"{SVG}desc").text
    low, high = re.search(r"runs from (\S+) to (\S+)\.", description).groups()
    assert float(low) == 20 and float(high) > 45.5 and "widened" in description


def test_series_differ_by_marker_fill_and_dash_not_only_colour() -> None:
    styles = SERIES_STYLES
    assert len({s["marker"] for s in styles}) == len(styles)
    assert len({str(s["linestyle"]) for s in styles}) == len(styles)
    assert {s["fill"] for s in styles[:2]} == {True, False}
    root = render()
    dashed = [p.get("style") for p in group(root, "c-series-1-line-0").iter(f"{SVG}path")]
    solid = [p.get("style") for p in group(root, "c-series-0-line-0").iter(f"{SVG}path")]
    assert "stroke-dasharray" in dashed[0] and "stroke-dasharray" not in solid[0]


def test_legend_names_every_series_and_the_interval() -> None:
    legend = texts(group(render(interval_label="mean ± SD"), "c-legend"))
    assert legend[:2] == ["Anakinra", "Placebo"] and "error bar: mean ± SD" in legend


def test_labels_with_markup_characters_are_escaped() -> None:
    text = means_by_period_chart([(1, 'Drug <&> "A"', 3, 10.0, 5.0, 15.0)],
                                 title="Pain <&>", y_label="y <&>").svg  # fmt: skip
    root = parse(text)
    assert root.find(f"{SVG}title").text == "Pain <&>"
    assert "<&>" not in text
    assert 'Drug <&> "A"' in texts(root)


def test_no_nan_or_infinity_in_the_drawing() -> None:
    text = means_by_period_chart(POINTS, title="t", y_label="y", periods=6).svg
    assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE)


def test_same_input_gives_identical_output_in_any_order_and_process() -> None:
    first = means_by_period_chart(POINTS, title="Pain", y_label="Score").svg
    again = means_by_period_chart(list(reversed(POINTS)), title="Pain", y_label="Score").svg
    assert first == again
    script = ("from tests.scoring.test_chart import POINTS; from scoring.charts import "
              "means_by_period_chart as c; import sys; "
              "sys.stdout.write(c(POINTS, title='Pain', y_label='Score').svg)")  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "12345", "DJANGO_SETTINGS_MODULE": ""}
    other = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env,
                           capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert other.stdout == first


def test_chart_with_no_data_says_so() -> None:
    root = render([(1, "A", 0, None, None, None)])
    assert group(root, "c-series-0-markers") is None
    assert "No data" in texts(root)


def test_default_element_id_is_derived_from_the_content_and_bad_ids_are_refused() -> None:
    chart = means_by_period_chart(POINTS, title="Pain", y_label="Score")
    assert re.fullmatch(r"chart-[0-9a-f]{12}", chart.element_id)
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
        means_by_period_chart(points, title="t", y_label="y")


def test_reversed_y_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="y_range"):
        render(y_range=(100, 0))


def test_table_gives_the_same_numbers_including_empty_cells() -> None:
    rows = means_by_period_chart(POINTS, title="t", y_label="y").table
    assert [(r["period"], r["treatment"]) for r in rows][:3] == [
        (1, "Anakinra"), (1, "Placebo"), (2, "Anakinra"),
    ]  # fmt: skip
    assert rows[0] == {"period": 1, "treatment": "Anakinra", "n": 10, "mean": 50.5,
                       "ci_low": 45.0, "ci_high": 56.0}  # fmt: skip
    empty = next(r for r in rows if r["period"] == 3 and r["treatment"] == "Anakinra")
    assert (empty["n"], empty["mean"], empty["ci_low"]) == (0, None, None)


def test_axis_can_show_the_studys_periods_not_reached_yet() -> None:
    axis = group(render(periods=6), "c-matplotlib.axis_1")
    assert [e.text for e in axis.iter(f"{SVG}text")] == ["1", "2", "3", "4", "5", "6", "Period"]
    with pytest.raises(ValueError, match="periods"):
        render(periods=3)


# Profile plot


def test_profile_plot_draws_one_line_per_complete_participant_by_sequence() -> None:
    rows = pilot_like_observations(seed=3, participants=9, withdrawn=(2,))
    blocks = block_means(rows, design=DESIGN)
    chart = profile_chart(blocks, design=DESIGN, title="Pain profiles", y_label="Pain",
                          element_id="prof", treatment_labels={"A": "Anakinra"})  # fmt: skip
    root = parse(chart.svg)
    lines = [len(list(group(root, f"prof-participants-{i}").iter(f"{SVG}path")))
             for i in (0, 1)]  # fmt: skip
    assert lines == [4, 4]  # AP: 5 participants, one withdrawn after block 1; PA: 4
    assert len(list(group(root, "prof-one-block-0").iter(f"{SVG}use"))) == 1
    assert group(root, "prof-one-block-1") is None
    assert group(root, "prof-sequence-mean-0") is not None
    assert "Sequence AP: n = 4 (+1 with one block)" in texts(root)
    assert "Block 1" in " ".join(texts(root)) and "Anakinra" in " ".join(texts(root))
    assert "one block only" in root.find(f"{SVG}desc").text
    assert len(chart.table) == 9
    withdrawn = next(r for r in chart.table if r["participant"] == "S002")
    assert withdrawn["block_2_mean"] is None and withdrawn["block_1_treatment"] == "Anakinra"
    assert withdrawn["block_1_n"] == 3 and withdrawn["block_2_treatment"] == "P"
    complete = next(r for r in chart.table if r["participant"] == "S001")
    assert complete["block_1_mean"] == float(blocks[1].first)


def test_profile_plot_of_no_data_says_so_and_rejects_other_sequences() -> None:
    root = parse(profile_chart([], design=DESIGN, title="t", y_label="y", element_id="p").svg)
    assert texts(root).count("No data") == 2
    other = block_means([("1", "AP", 1, "A", 5)], design=DESIGN)[0]._replace(sequence="XY")
    with pytest.raises(ValueError, match="unknown sequence"):
        profile_chart([other], design=DESIGN, title="t", y_label="y", element_id="p")


# Forest plot


FOREST = [
    ("Pain", -6.25, -11.0, -1.5, "p = 0.02"),
    ("Self-image", 2.0, -3.0, 7.04),
    ("Cycle length", None, None, None, "too few participants"),
]


def test_forest_plot_has_one_row_per_outcome_and_says_what_is_not_estimable() -> None:
    chart = forest_chart(FOREST, title="Effects", x_label="A - P", element_id="f",
                         favours=("favours A", "favours P"))  # fmt: skip
    root = parse(chart.svg)
    assert group(root, "f-estimate-0") is not None and group(root, "f-interval-1") is not None
    assert group(root, "f-estimate-2") is None
    row_texts = [texts(group(root, f"f-text-{i}"))[0] for i in range(3)]
    # Rounded half away from zero for display (-6.25 -> -6.3), with a true minus sign.
    assert row_texts[0] == "\N{MINUS SIGN}6.3 (\N{MINUS SIGN}11.0 to \N{MINUS SIGN}1.5)  p = 0.02"
    assert row_texts[1] == "2.0 (\N{MINUS SIGN}3.0 to 7.0)"
    assert row_texts[2] == "not estimable (too few participants)"
    assert "Cycle length: not estimable" in chart.description
    assert {"Pain", "Self-image", "Cycle length"} <= set(texts(root))
    assert chart.table[0] == {"label": "Pain", "estimate": -6.25, "ci_low": -11.0,
                              "ci_high": -1.5, "detail": "p = 0.02"}  # fmt: skip
    assert chart.notes == ("Cycle length: not estimable",)


def test_forest_axis_is_symmetric_around_no_effect() -> None:
    root = parse(forest_chart(FOREST, title="t", x_label="x", element_id="f").svg)
    ticks = [e.text for e in group(root, "f-matplotlib.axis_1").iter(f"{SVG}text")][:-1]
    assert ticks[0] == "\N{MINUS SIGN}" + ticks[-1].lstrip("\N{MINUS SIGN}")
    assert group(root, "f-no-effect") is not None


@pytest.mark.parametrize(
    "row",
    [("x", 5.0, 6.0, 7.0), ("x", 1.0, 0.0, None), ("x", None, 0.0, 1.0), ("", 1.0, 0.0, 2.0),
     ("x", float("inf"), None, None)],
    ids=["excludes estimate", "half interval", "interval without estimate", "no label", "inf"],
)  # fmt: skip
def test_forest_rejects_inconsistent_rows(row: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        forest_chart([row], title="t", x_label="x", element_id="f")
