"""Statistics for the per-treatment summary: golden values by hand, an independent recomputation
with numpy/scipy, a textbook dataset, exact Wilcoxon p-values by enumeration, the 2x2 crossover
contrasts on a constructed dataset, and properties checked with hypothesis."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scoring.statistics import (
    Describe,
    ParticipantMean,
    crossover_compare,
    describe,
    mean_confidence_interval,
    paired_compare,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Derandomized, as in test_engine: the same examples everywhere, so a failure always reproduces.
PROPERTY = settings(derandomize=True, database=None, max_examples=200, deadline=None)

# Student (1908), "The probable error of a mean", Biometrika 6:1-25: extra hours of sleep with
# two hypnotics in the same 10 patients (Cushny & Peebles' data; R's datasets::sleep). R 4.x,
# t.test(extra ~ group, data = sleep, paired = TRUE) (group 1 minus group 2) prints
# t = -4.0621, df = 9, p-value = 0.002833, 95 percent CI -2.4598858 -0.7001142,
# mean difference -1.58.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def walk(value: Any) -> list[Any]:
    """Every leaf of a JSON-like structure."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in walk(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in walk(item)]
    return [value]


def assert_no_nan(result: dict[str, Any]) -> None:
    for leaf in walk(result):
        assert not (isinstance(leaf, float) and not math.isfinite(leaf)), result
    json.dumps(result, allow_nan=False)  # raises on NaN or infinity


def wilcoxon_exact_p(differences: list[float]) -> float:
    """Two-sided p of the signed-rank statistic by enumerating every sign pattern, with average
    ranks for ties: the textbook definition, independent of scipy."""
    ordered = sorted(abs(d) for d in differences)
    rank = {v: sum(i + 1 for i, w in enumerate(ordered) if w == v) / ordered.count(v)
            for v in ordered}  # fmt: skip
    ranks = [rank[abs(d)] for d in differences]
    observed = sum(r for r, d in zip(ranks, differences, strict=True) if d > 0)
    centre = sum(ranks) / 2
    patterns = list(itertools.product((0, 1), repeat=len(ranks)))
    extreme = sum(
        1 for signs in patterns
        if abs(sum(r for r, s in zip(ranks, signs, strict=True) if s) - centre)
        >= abs(observed - centre) - 1e-9
    )  # fmt: skip
    return extreme / len(patterns)


# describe


def test_describe_matches_hand_computed_golden_values() -> None:
    result = describe([4, 1, 3, 2])
    assert result == Describe(
        n=4, mean=2.5, sd=pytest.approx(math.sqrt(5 / 3)), median=2.5, q1=1.75, q3=3.25,
        minimum=1.0, maximum=4.0,
    )  # fmt: skip
    assert result.sd == pytest.approx(1.2909944487358056, rel=1e-15)


def test_describe_of_integers_gives_exact_looking_results() -> None:
    assert describe([1, 2]).mean == 1.5
    assert describe([1, 2, 2]).mean == float(Fraction(5, 3))
    assert describe([Decimal("0.1"), Decimal("0.2")]).mean == 0.15
    assert describe([Fraction(1, 3), Fraction(2, 3)]).median == 0.5


def test_describe_quartiles_are_numpy_linear_type_7() -> None:
    values = [3.1, 7, 0.5, 12, 9.25, 4, 4, 15.5, 2]
    result = describe(values)
    q1, median, q3 = np.percentile(values, [25, 50, 75], method="linear")
    assert (result.q1, result.median, result.q3) == pytest.approx((q1, median, q3))
    assert result.sd == pytest.approx(np.std(values, ddof=1))


def test_describe_of_no_values_is_all_none() -> None:
    assert describe([]) == Describe(0, None, None, None, None, None, None, None)


def test_describe_of_one_value_has_no_sd() -> None:
    assert describe([Decimal("37.5")]) == Describe(1, 37.5, None, 37.5, 37.5, 37.5, 37.5, 37.5)


@pytest.mark.parametrize("bad", [None, True, "3", [1]])
def test_describe_rejects_missing_and_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError):
        describe([1, bad, 3])  # type: ignore[list-item]


@pytest.mark.parametrize("bad", [math.nan, math.inf, Decimal("NaN"), Decimal("-Infinity")])
def test_describe_rejects_non_finite_values(bad: object) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        describe([1, bad])  # type: ignore[list-item]


def test_describe_as_dict_is_json_ready() -> None:
    assert describe([1]).as_dict() == {
        "n": 1, "mean": 1.0, "sd": None, "median": 1.0, "q1": 1.0, "q3": 1.0,
        "minimum": 1.0, "maximum": 1.0,
    }  # fmt: skip


# paired_compare


def test_paired_compare_reproduces_students_sleep_data() -> None:
    result = paired_compare(list(zip(SLEEP_1, SLEEP_2, strict=True)))
    assert result.n_pairs == 10
    assert result.mean_difference == pytest.approx(-1.58)
    assert result.t_statistic == pytest.approx(-4.0621, abs=5e-5)
    assert result.t_p_value == pytest.approx(0.002833, abs=5e-7)
    assert (result.ci_low, result.ci_high) == pytest.approx((-2.4598858, -0.7001142), abs=5e-8)


def test_paired_compare_matches_independent_computation() -> None:
    a = [54.5, 62.0, 41.25, 70.0, 33.3, 58.0, 47.5]
    b = [63.3, 60.0, 50.0, 79.5, 35.0, 66.0, 45.0]
    result = paired_compare(list(zip(a, b, strict=True)))
    d = np.subtract(a, b)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert result.mean_a == pytest.approx(np.mean(a))
    assert result.mean_b == pytest.approx(np.mean(b))
    assert result.mean_difference == pytest.approx(d.mean())
    assert result.sd_difference == pytest.approx(d.std(ddof=1))
    assert (result.ci_low, result.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    scipy_ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == pytest.approx((scipy_ci.low, scipy_ci.high))
    t_by_hand = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    assert result.t_statistic == pytest.approx(t_by_hand)
    assert result.t_p_value == pytest.approx(2 * stats.t.sf(abs(t_by_hand), len(d) - 1))
    assert result.wilcoxon_method == "exact"
    assert result.wilcoxon_p_value == pytest.approx(wilcoxon_exact_p(list(d)))


def test_difference_is_a_minus_b() -> None:
    lower_under_a = paired_compare([(10, 20), (30, 45), (5, 12)])
    assert lower_under_a.mean_difference == pytest.approx(-32 / 3)
    assert lower_under_a.ci_high < 0
    assert lower_under_a.t_statistic < 0
    swapped = paired_compare([(20, 10), (45, 30), (12, 5)])
    assert swapped.mean_difference == pytest.approx(32 / 3)
    assert swapped.t_statistic == pytest.approx(-lower_under_a.t_statistic)
    assert swapped.t_p_value == pytest.approx(lower_under_a.t_p_value)


def test_confidence_level_changes_the_interval_only() -> None:
    pairs = list(zip(SLEEP_1, SLEEP_2, strict=True))
    ninety, ninety_nine = (paired_compare(pairs, confidence=c) for c in (0.90, 0.99))
    assert ninety.ci_low > ninety_nine.ci_low and ninety.ci_high < ninety_nine.ci_high
    assert ninety.t_p_value == ninety_nine.t_p_value
    half = stats.t.ppf(0.95, 9) * ninety.sd_difference / math.sqrt(10)
    assert ninety.ci_high - ninety.mean_difference == pytest.approx(half)
    assert ninety.confidence == 0.90


@pytest.mark.parametrize("confidence", [0, 1, 95, -0.5])
def test_confidence_outside_zero_one_is_rejected(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        paired_compare([(1, 2), (3, 5)], confidence=confidence)


def test_wilcoxon_small_exact_case_matches_enumeration() -> None:
    # |d| ranks 1..6, only the largest negative: R- = 6, 14 of the 64 sign patterns have
    # R- <= 6, so the two-sided p is 28/64.
    result = paired_compare([(d, 0) for d in (1, 2, 3, 4, 5, -6)])
    assert result.wilcoxon_method == "exact"
    assert result.wilcoxon_statistic == 6
    assert result.wilcoxon_p_value == pytest.approx(28 / 64)


def test_wilcoxon_with_ties_and_zeros_uses_the_exact_conditional_distribution() -> None:
    # The sleep data have a zero difference (dropped) and tied |d| (1.3 twice); all nine
    # remaining differences are negative, so p = 2 / 2**9.
    result = paired_compare(list(zip(SLEEP_1, SLEEP_2, strict=True)))
    assert result.wilcoxon_method == "exact-conditional"
    assert result.wilcoxon_statistic == 0
    assert result.wilcoxon_p_value == pytest.approx(2 / 2**9)
    assert any("1 zero difference" in note for note in result.notes)
    tied = [1, -1, 2, 2, 3, -4, 5, 5]
    assert paired_compare([(d, 0) for d in tied]).wilcoxon_p_value == pytest.approx(
        wilcoxon_exact_p(tied)
    )


def test_wilcoxon_with_many_tied_differences_uses_the_normal_approximation() -> None:
    differences = [1, 2, 2, 3, 3, 3, 4, 4, -1, -2, 5, 5, 6, -6, 7, 8]
    result = paired_compare([(d, 0) for d in differences])
    assert result.wilcoxon_method == "normal-approximation"
    expected = stats.wilcoxon(differences, method="asymptotic", correction=True)
    assert result.wilcoxon_p_value == pytest.approx(expected.pvalue)


def test_all_zero_differences_give_no_wilcoxon_and_no_t_with_notes() -> None:
    result = paired_compare([(40, 40), (55.5, 55.5), (Decimal("12.5"), Fraction(25, 2))])
    assert result.mean_difference == 0 and result.sd_difference == 0
    assert result.wilcoxon_statistic is None and result.wilcoxon_p_value is None
    assert result.t_statistic is None and result.t_p_value is None
    assert any("all differences are zero" in note for note in result.notes)
    assert any("SD 0" in note for note in result.notes)
    assert_no_nan(result.as_dict())


def test_one_pair_gives_means_but_no_statistics() -> None:
    result = paired_compare([(30, 45)])
    assert (result.n_pairs, result.mean_a, result.mean_b, result.mean_difference) == (
        1, 30.0, 45.0, -15.0,
    )  # fmt: skip
    others = (result.sd_difference, result.ci_low, result.t_p_value, result.wilcoxon_p_value)
    assert others == (None, None, None, None)
    assert result.notes and "at least 2 pairs" in result.notes[0]
    assert_no_nan(result.as_dict())


def test_no_pairs_gives_all_none_with_a_note() -> None:
    result = paired_compare([])
    assert result.n_pairs == 0 and result.mean_difference is None
    assert result.notes
    assert_no_nan(result.as_dict())


def test_a_missing_mean_is_rejected_not_read_as_zero() -> None:
    with pytest.raises(TypeError, match="missing"):
        paired_compare([(1, 2), (None, 3)])  # type: ignore[list-item]


def test_paired_as_dict_has_every_field_and_no_nan() -> None:
    result = paired_compare([(1, 2), (2, 4), (3, 3)]).as_dict()
    assert set(result) >= {"n_pairs", "mean_difference", "ci_low", "wilcoxon_p_value", "notes"}
    assert isinstance(result["notes"], list)
    assert_no_nan(result)


def test_mean_confidence_interval_is_the_t_interval() -> None:
    low, high = mean_confidence_interval(n=10, mean=50, sd=Decimal("8"))
    half = stats.t.ppf(0.975, 9) * 8 / math.sqrt(10)
    assert (low, high) == pytest.approx((50 - half, 50 + half))
    assert mean_confidence_interval(n=1, mean=50, sd=None) is None


# crossover_compare: constructed so every answer is known. Model: d = A - B per participant is
# tau + (pi1 - pi2) in AP and tau - (pi1 - pi2) in PA, with tau = -10, pi1 - pi2 = 4, plus noise
# that sums to zero within each sequence. Sequences are unbalanced (4 AP, 2 PA) on purpose.
AP_DIFFERENCES = [-5, -7, -4, -8]  # mean -6 = -10 + 4
PA_DIFFERENCES = [-11, -17]  # mean -14 = -10 - 4
CROSSOVER_ROWS = [
    *(row for i, d in enumerate(AP_DIFFERENCES)
      for row in ((f"S01-{i}", "AP", "A", 50 + d), (f"S01-{i}", "AP", "P", 50))),
    *(row for i, d in enumerate(PA_DIFFERENCES)
      for row in ((f"S02-{i}", "PA", "P", 50), (f"S02-{i}", "PA", "A", 50 + d))),
    ParticipantMean("S03-1", "PA", "A", 20),  # placebo mean missing: excluded
]  # fmt: skip


def welch_by_hand(x: list[float], y: list[float]) -> tuple[float, float, float]:
    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    t = (np.mean(x) - np.mean(y)) / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    return t, df, 2 * stats.t.sf(abs(t), df)


def test_crossover_splits_by_sequence_and_excludes_incomplete_participants() -> None:
    result = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P")
    by_sequence = dict(result.by_sequence)
    assert list(by_sequence) == ["AP", "PA"]
    assert by_sequence["AP"].mean_difference == -6 and by_sequence["AP"].n_pairs == 4
    assert by_sequence["PA"].mean_difference == -14 and by_sequence["PA"].n_pairs == 2
    assert result.overall.n_pairs == 6
    assert result.overall.mean_difference == pytest.approx((4 * -6 + 2 * -14) / 6)
    assert result.excluded_participants == 1 and result.notes


def test_period_effect_test_recovers_the_constructed_period_effect() -> None:
    period = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P").period_effect
    assert (period.n_a_first, period.n_b_first) == (4, 2)
    assert (period.mean_a_first, period.mean_b_first) == (-6, -14)
    assert period.estimate == 4  # (-6 - -14) / 2 = pi1 - pi2
    t, df, p = welch_by_hand(AP_DIFFERENCES, PA_DIFFERENCES)
    assert (period.t_statistic, period.df, period.p_value) == pytest.approx((t, df, p))


def test_period_adjusted_treatment_effect_is_unbiased_when_sequences_are_unbalanced() -> None:
    result = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P")
    adjusted = result.treatment_effect_period_adjusted
    assert adjusted.estimate == -10  # tau, whereas the overall paired mean is -8.67
    t, df, p = welch_by_hand(AP_DIFFERENCES, [-d for d in PA_DIFFERENCES])
    assert (adjusted.t_statistic, adjusted.df, adjusted.p_value) == pytest.approx((t, df, p))


def test_carry_over_compares_participant_sums_between_sequences() -> None:
    carry = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P").carry_over
    sums_ap = [100 + d for d in AP_DIFFERENCES]
    sums_pa = [100 + d for d in PA_DIFFERENCES]
    assert carry.estimate == pytest.approx(np.mean(sums_ap) - np.mean(sums_pa))
    assert carry.p_value == pytest.approx(welch_by_hand(sums_ap, sums_pa)[2])


def test_crossover_with_one_sequence_gives_contrasts_as_none_with_notes() -> None:
    rows = [row for row in CROSSOVER_ROWS if row[1] == "AP"]
    result = crossover_compare(rows, treatment_a="A", treatment_b="P")
    assert result.period_effect.p_value is None and result.period_effect.notes
    assert result.period_effect.estimate is None
    assert_no_nan(result.as_dict())


def test_crossover_as_dict_is_json_with_sequences_as_keys() -> None:
    result = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P").as_dict()
    assert set(result["by_sequence"]) == {"AP", "PA"}
    assert result["by_sequence"]["PA"]["mean_difference"] == -14
    assert_no_nan(result)


@pytest.mark.parametrize(
    "rows",
    [
        [("S1", "AP", "X", 1)],
        [("S1", "AP", "A", 1), ("S1", "AP", "A", 2)],
        [("S1", "AP", "A", 1), ("S1", "PA", "P", 2)],
    ],
    ids=["unknown treatment", "treatment twice", "two sequences"],
)
def test_crossover_rejects_inconsistent_rows(rows: list[tuple[str, str, str, int]]) -> None:
    with pytest.raises(ValueError):
        crossover_compare(rows, treatment_a="A", treatment_b="P")


# properties

finite = st.one_of(
    st.integers(-1000, 1000),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.decimals(-1000, 1000, places=4, allow_nan=False, allow_infinity=False),
    st.fractions(-1000, 1000, max_denominator=1000),
)


@PROPERTY
@given(st.lists(finite, min_size=1, max_size=40))
def test_describe_mean_and_quartiles_lie_within_the_range(values: list[Any]) -> None:
    result = describe(values)
    assert result.minimum <= result.q1 <= result.median <= result.q3 <= result.maximum
    assert result.minimum <= result.mean <= result.maximum
    assert result.sd is None or result.sd >= 0


@PROPERTY
@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=30))
def test_paired_mean_difference_is_mean_a_minus_mean_b_inside_its_interval(
    pairs: list[tuple[Any, Any]],
) -> None:
    result = paired_compare(pairs)
    assert result.mean_difference == pytest.approx(result.mean_a - result.mean_b, abs=1e-6)
    assert result.ci_low <= result.mean_difference <= result.ci_high
    for p_value in (result.t_p_value, result.wilcoxon_p_value):
        assert p_value is None or 0 <= p_value <= 1
    assert_no_nan(result.as_dict())


# purity

SCRIPT = """
import sys
from scoring.chart import period_treatment_chart_svg
from scoring.statistics import describe, paired_compare
print(describe([1, 2]).mean, paired_compare([(1, 2), (3, 5)]).n_pairs)
period_treatment_chart_svg([(1, "A", 1, 5, None, None)], title="t", y_label="y")
print(sorted(name for name in sys.modules if name == "django" or name.startswith("django.")))
"""


def test_statistics_and_chart_compute_without_importing_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1.5 2", "[]"]
