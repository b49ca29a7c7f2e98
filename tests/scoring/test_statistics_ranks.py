"""The Wilcoxon convention (R's wilcox.test defaults): exact null distributions against brute
force, p-values against R's printed examples, scipy configured the same way, and the textbook
formulas; Hodges-Lehmann and Moses' interval against enumeration; ties judged on exact values."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from scoring.statistics.ranks import (
    average_ranks,
    hodges_lehmann,
    rank_sum_counts,
    rank_sum_test,
    signed_rank_test,
)
from tests.scoring.statistics_data import (
    DEPRESSION_X,
    DEPRESSION_Y,
    PERMEABILITY_X,
    PERMEABILITY_Y,
    SLEEP_1,
    SLEEP_2,
    exact,
    rank_sum_null_counts,
    signed_rank_exact_p,
    signed_rank_normal_p,
)


def differences(x: list, y: list) -> list[Fraction]:
    return [a - b for a, b in zip(exact(x), exact(y), strict=True)]


def test_average_ranks_share_positions_and_count_tie_groups() -> None:
    ranks, groups = average_ranks(exact([3, 1, 3, 2, 3]))
    assert ranks == [4, 1, 4, 2, 4]
    assert sorted(groups) == [1, 1, 3]


def test_exact_rationals_tie_where_floats_do_not() -> None:
    # 0.1 + 0.2 != 0.3 in binary floating point; as Fractions of decimals they are equal.
    assert 0.1 + 0.2 != 0.3
    _, groups = average_ranks([Fraction(1, 10) + Fraction(2, 10), Fraction(3, 10)])
    assert groups == [2]


# Signed-rank


def test_signed_rank_matches_rs_printed_example() -> None:
    # R: wilcox.test(x, y, paired = TRUE, alternative = "greater") prints V = 40,
    # p-value = 0.01953; the two-sided p is twice that, 20/512 exactly.
    result = signed_rank_test(differences(DEPRESSION_X, DEPRESSION_Y))
    assert result.statistic == 40
    assert result.method == "Wilcoxon signed rank exact test" and result.exact
    assert result.p_value == pytest.approx(20 / 512, abs=1e-15)
    assert round(result.p_value / 2, 5) == 0.01953


def test_signed_rank_with_zeros_and_ties_matches_r_on_the_sleep_data() -> None:
    # R: wilcox.test(extra ~ group, data = sleep, paired = TRUE) warns about ties and zeros
    # and prints V = 0, p-value = 0.009091 (normal approximation with continuity correction).
    d = differences(SLEEP_1, SLEEP_2)
    result = signed_rank_test(d)
    assert result.statistic == 0 and result.ties and not result.exact
    assert result.method == "Wilcoxon signed rank test with continuity correction"
    assert round(result.p_value, 6) == 0.009091
    assert result.p_value == pytest.approx(signed_rank_normal_p([float(v) for v in d]),
                                           rel=1e-12)  # fmt: skip
    assert any("1 zero difference" in note for note in result.notes)


@pytest.mark.parametrize("n", [1, 2, 5, 9, 12])
def test_signed_rank_exact_distribution_matches_enumeration(n: int) -> None:
    rng = np.random.default_rng(n)
    values = rng.permutation(np.arange(1, n + 1)) * rng.choice([-1, 1], n)
    result = signed_rank_test(exact(list(values)))
    assert result.exact
    assert result.p_value == pytest.approx(signed_rank_exact_p(list(values)), rel=1e-12)
    scipy = stats.wilcoxon(values, method="exact")
    assert result.p_value == pytest.approx(scipy.pvalue, rel=1e-12)


def test_signed_rank_normal_approximation_matches_scipy_set_to_rs_convention() -> None:
    d = [1, 2, 2, 3, 3, 3, 4, 4, -1, -2, 5, 5, 6, -6, 7, 8, 0, 0]
    result = signed_rank_test(exact(d))
    scipy = stats.wilcoxon(d, zero_method="wilcox", correction=True, method="asymptotic")
    assert result.p_value == pytest.approx(scipy.pvalue, rel=1e-12)
    assert result.p_value == pytest.approx(signed_rank_normal_p(d), rel=1e-12)


def test_fifty_distinct_differences_use_the_normal_approximation_as_r_does() -> None:
    d = [(-1) ** k * k for k in range(1, 51)]
    result = signed_rank_test(exact(d))
    assert not result.exact and not result.ties
    assert result.p_value == pytest.approx(signed_rank_normal_p(d), rel=1e-12)
    assert signed_rank_test(exact(d[:49])).exact


def test_ties_stay_ties_so_the_tie_aware_p_differs_from_the_exact_no_ties_p() -> None:
    # Scores of 1/3-point steps: exact ties. Rounded to 4 decimals and recombined, two of them
    # differ in the last digit and the tie is gone, which switches R (and this module) to the
    # exact no-ties test with a different p: the finding of issue 15 (0.0479 vs 0.0465).
    exact_d = [Fraction(1, 3) * k for k in (3, 4, 4, 5, 6, 7, 8, 9, -2, 10, 11)]
    broken = [float(v) for v in exact_d]
    broken[2] = round(float(exact_d[1]), 4) + 0.0001  # 1.3334: no longer tied with 1.3333...
    tie_aware = signed_rank_test(exact_d)
    no_ties = signed_rank_test(exact(broken))
    assert tie_aware.ties and not tie_aware.exact
    assert no_ties.exact and not no_ties.ties
    assert tie_aware.p_value == pytest.approx(signed_rank_normal_p([float(v) for v in exact_d]))
    assert no_ties.p_value == pytest.approx(signed_rank_exact_p(broken))
    assert abs(tie_aware.p_value - no_ties.p_value) > 1e-4


def test_all_zero_differences_leave_no_test() -> None:
    result = signed_rank_test(exact([0, 0, 0]))
    assert result.p_value is None and result.statistic is None
    assert any("every difference is zero" in note for note in result.notes)


# Rank-sum


def test_rank_sum_matches_rs_printed_example() -> None:
    # R: wilcox.test(x, y, alternative = "greater") prints W = 35, p-value = 0.1272.
    result = rank_sum_test(exact(PERMEABILITY_X), exact(PERMEABILITY_Y))
    assert result.statistic == 35 and result.method == "Wilcoxon rank sum exact test"
    assert round(result.p_value / 2, 4) == 0.1272
    scipy = stats.mannwhitneyu([float(v) for v in PERMEABILITY_X],
                               [float(v) for v in PERMEABILITY_Y], method="exact")  # fmt: skip
    assert result.p_value == pytest.approx(scipy.pvalue, rel=1e-12)


@pytest.mark.parametrize(("m", "n"), [(1, 1), (2, 3), (4, 4), (5, 3), (6, 7)])
def test_rank_sum_null_distribution_matches_enumeration(m: int, n: int) -> None:
    counts = rank_sum_counts(m, n)
    by_hand = rank_sum_null_counts(m, n)
    assert list(counts) == [by_hand.get(w, 0) for w in range(m * n + 1)]


def test_rank_sum_with_ties_matches_scipy_normal_approximation_with_continuity() -> None:
    x, y = [1, 2, 2, 3, 5, 8, 8], [2, 3, 3, 4, 6, 6, 9, 10, 10]
    result = rank_sum_test(exact(x), exact(y))
    assert result.ties and result.method == "Wilcoxon rank sum test with continuity correction"
    scipy = stats.mannwhitneyu(x, y, use_continuity=True, method="asymptotic")
    assert result.statistic == scipy.statistic
    assert result.p_value == pytest.approx(scipy.pvalue, rel=1e-12)


def test_rank_sum_of_identical_values_has_no_p_value() -> None:
    result = rank_sum_test(exact([4, 4]), exact([4, 4, 4]))
    assert result.p_value is None and result.notes


# Hodges-Lehmann and Moses' interval


def moses_by_enumeration(x: list, y: list, confidence: float) -> tuple[float, float, float]:
    """R's rule from a brute-force null distribution: qu = smallest w with P(W <= w) >=
    alpha/2 (at least 1); interval (D[qu], D[mn - qu + 1]) of the sorted differences."""
    m, n = len(x), len(y)
    counts = rank_sum_null_counts(m, n)
    total = sum(counts.values())
    cdf, running = {}, 0
    for w in range(m * n + 1):
        running += counts.get(w, 0)
        cdf[w] = running / total
    qu = max(next(w for w in range(m * n + 1) if cdf[w] >= (1 - confidence) / 2), 1)
    diffs = sorted(float(a) - float(b) for a in x for b in y)
    return diffs[qu - 1], diffs[m * n - qu], 1 - 2 * (cdf[qu - 1] if qu > 0 else 0)


def test_hodges_lehmann_is_the_median_of_pairwise_differences_with_rs_interval() -> None:
    x, y = exact(PERMEABILITY_X), exact(PERMEABILITY_Y)
    shift = hodges_lehmann(x, y, confidence=0.95, ties=False)
    diffs = [float(a - b) for a in x for b in y]
    assert shift.estimate == pytest.approx(float(np.median(diffs)), abs=1e-12)
    low, high, achieved = moses_by_enumeration(x, y, 0.95)
    assert (shift.ci_low, shift.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert shift.confidence_achieved == pytest.approx(achieved, abs=1e-12)
    assert shift.confidence_achieved >= 0.95


def test_normal_approximation_interval_brackets_the_estimate() -> None:
    rng = np.random.default_rng(7)
    x = exact(list(np.round(rng.normal(1, 1, 60), 3)))
    y = exact(list(np.round(rng.normal(0, 1, 55), 3)))
    shift = hodges_lehmann(x, y, confidence=0.95, ties=False)
    assert shift.confidence_achieved is None and "normal" in shift.ci_method
    assert shift.ci_low < shift.estimate < shift.ci_high
    # The interval is the set of shifts the test does not reject: just inside its ends the
    # asymptotic p is above 5%, just outside below (to within one step of the order statistics).
    floats_x, floats_y = [float(v) for v in x], [float(v) for v in y]
    for inside, outside in ((shift.ci_low + 1e-3, shift.ci_low - 0.05),
                            (shift.ci_high - 1e-3, shift.ci_high + 0.05)):  # fmt: skip
        p_in = stats.mannwhitneyu(np.subtract(floats_x, inside), floats_y).pvalue
        p_out = stats.mannwhitneyu(np.subtract(floats_x, outside), floats_y).pvalue
        assert p_in > 0.05 > p_out
