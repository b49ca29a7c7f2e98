"""The pilot paper's paired comparison: paired t against R's printed output and scipy, d_z, and
the Wilcoxon signed-rank test under R's convention; bad input gives None with notes."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from scoring.statistics import R_CONVENTION, paired_compare
from tests.scoring.statistics_data import SLEEP_1, SLEEP_2, assert_json_safe, decimals


def test_paired_t_reproduces_rs_output_for_the_sleep_data() -> None:
    # R: t.test(extra ~ group, data = sleep, paired = TRUE): t = -4.0621, df = 9,
    # p-value = 0.002833, 95 percent CI -2.4598858 -0.7001142, mean difference -1.58.
    result = paired_compare(list(zip(SLEEP_1, SLEEP_2, strict=True)))
    assert result.n_pairs == 10 and result.df == 9
    assert result.mean_difference == pytest.approx(-1.58, abs=1e-14)
    assert round(result.t_statistic, 4) == -4.0621
    assert round(result.t_p_value, 6) == 0.002833
    assert (round(result.ci_low, 7), round(result.ci_high, 7)) == (-2.4598858, -0.7001142)


def test_paired_t_matches_scipy_to_1e_9() -> None:
    a = decimals("54.5 62.0 41.25 70.0 33.3 58.0 47.5 61.1")
    b = decimals("63.3 60.0 50.0 79.5 35.0 66.0 45.0 60.0")
    result = paired_compare(list(zip(a, b, strict=True)))
    fa, fb = np.array(a, float), np.array(b, float)
    scipy = stats.ttest_rel(fa, fb)
    ci = scipy.confidence_interval(0.95)
    d = fa - fb
    assert result.t_statistic == pytest.approx(scipy.statistic, rel=1e-9)
    assert result.t_p_value == pytest.approx(scipy.pvalue, rel=1e-9)
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert result.sd_difference == pytest.approx(d.std(ddof=1), rel=1e-12)
    assert result.effect_size == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)
    assert result.mean_a == pytest.approx(fa.mean()) and result.mean_b == pytest.approx(fb.mean())


def test_result_names_the_comparison_and_the_wilcoxon_convention() -> None:
    result = paired_compare([(1, 2), (2, 5), (4, 4), (3, 7)])
    assert "pilot paper" in result.label and "not adjusted for period" in result.label
    assert result.wilcoxon_convention == R_CONVENTION
    assert "continuity correction" in result.wilcoxon_convention
    assert result.wilcoxon_zeros_dropped == 1
    assert result.wilcoxon_method == "Wilcoxon signed rank test with continuity correction"
    assert "d_z" in result.effect_size_definition


def test_wilcoxon_statistic_is_rs_v_the_sum_of_positive_ranks() -> None:
    # A - B = 1, 2, 3, 4, 5, -6: V = 15, exact two-sided p = 2 * 14/64 (as R prints).
    result = paired_compare([(d, 0) for d in (1, 2, 3, 4, 5, -6)])
    assert result.wilcoxon_statistic == 15 and result.wilcoxon_method.endswith("exact test")
    assert result.wilcoxon_p_value == pytest.approx(28 / 64)


def test_difference_is_a_minus_b() -> None:
    lower_under_a = paired_compare([(10, 20), (30, 45), (5, 12)])
    assert lower_under_a.mean_difference == pytest.approx(-32 / 3)
    assert lower_under_a.ci_high < 0 and lower_under_a.t_statistic < 0
    assert lower_under_a.effect_size < 0
    swapped = paired_compare([(20, 10), (45, 30), (12, 5)])
    assert swapped.t_statistic == pytest.approx(-lower_under_a.t_statistic)
    assert swapped.t_p_value == pytest.approx(lower_under_a.t_p_value)


def test_confidence_level_changes_the_interval_only() -> None:
    pairs = list(zip(SLEEP_1, SLEEP_2, strict=True))
    ninety, ninety_nine = (paired_compare(pairs, confidence=c) for c in (0.90, 0.99))
    assert ninety.ci_low > ninety_nine.ci_low and ninety.ci_high < ninety_nine.ci_high
    assert ninety.t_p_value == ninety_nine.t_p_value
    half = stats.t.ppf(0.95, 9) * ninety.sd_difference / math.sqrt(10)
    assert ninety.ci_high - ninety.mean_difference == pytest.approx(half)


@pytest.mark.parametrize("confidence", [0, 1, 95, -0.5, True])
def test_confidence_outside_zero_one_is_rejected(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        paired_compare([(1, 2), (3, 5)], confidence=confidence)


def test_all_zero_differences_give_means_but_no_tests_with_notes() -> None:
    result = paired_compare([(40, 40), (55.5, 55.5), (Decimal("12.5"), Fraction(25, 2))])
    assert result.mean_difference == 0 and result.sd_difference == 0
    assert (result.ci_low, result.t_statistic, result.t_p_value, result.effect_size) == (
        None, None, None, None,
    )  # fmt: skip
    assert result.wilcoxon_p_value is None and result.wilcoxon_zeros_dropped == 3
    assert any("every difference is zero" in note for note in result.notes)
    assert any("SD 0" in note for note in result.notes)
    assert_json_safe(result.as_dict())


def test_one_pair_gives_means_but_no_statistics() -> None:
    result = paired_compare([(30, 45)])
    assert (result.n_pairs, result.mean_difference, result.sd_difference) == (1, -15.0, None)
    assert result.t_p_value is None and result.ci_low is None
    assert any("at least 2" in note for note in result.notes)
    assert_json_safe(result.as_dict())


def test_no_pairs_gives_all_none_with_a_note() -> None:
    result = paired_compare([])
    assert result.n_pairs == 0 and result.mean_difference is None and result.notes
    assert_json_safe(result.as_dict())


def test_a_missing_mean_is_rejected_not_read_as_zero() -> None:
    with pytest.raises(TypeError, match="missing"):
        paired_compare([(1, 2), (None, 3)])  # type: ignore[list-item]
