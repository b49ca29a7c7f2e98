"""Descriptive statistics (golden values, numpy), crossover_compare (the treatment-means entry
scoring.summaries uses) on a constructed dataset, and properties checked with hypothesis. The
paired, rank, crossover and mixed-model methods have their own test files."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
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
    paired_compare,
)
from tests.scoring.statistics_data import assert_json_safe

# Derandomized, as in test_engine: the same examples everywhere, so a failure always reproduces.
PROPERTY = settings(derandomize=True, database=None, max_examples=200, deadline=None)


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


def pooled_by_hand(x: list[float], y: list[float]) -> tuple[float, float, float]:
    """Classic pooled-variance two-sample t: statistic, df, two-sided p."""
    df = len(x) + len(y) - 2
    pooled = (np.var(x, ddof=1) * (len(x) - 1) + np.var(y, ddof=1) * (len(y) - 1)) / df
    t = (np.mean(x) - np.mean(y)) / math.sqrt(pooled * (1 / len(x) + 1 / len(y)))
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
    # Half period differences (block 1 - block 2) / 2: A-first -3 on average, B-first +7.
    assert (period.mean_a_first, period.mean_b_first) == (-3, 7)
    assert period.estimate == 4  # pi1 - pi2
    # The period contrast is the sum of the two means, with the treatment contrast's pooled SE.
    treatment = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P")
    assert period.standard_error == treatment.treatment_effect_period_adjusted.standard_error
    assert period.df == 4
    assert period.p_value == pytest.approx(2 * stats.t.sf(4 / period.standard_error, 4))


def test_period_adjusted_treatment_effect_is_unbiased_when_sequences_are_unbalanced() -> None:
    result = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P")
    adjusted = result.treatment_effect_period_adjusted
    assert adjusted.estimate == -10  # tau, whereas the overall paired mean is -8.67
    t, df, p = pooled_by_hand([d / 2 for d in AP_DIFFERENCES], [-d / 2 for d in PA_DIFFERENCES])
    assert (adjusted.t_statistic, adjusted.df, adjusted.p_value) == pytest.approx((t, df, p))
    # Welch's test, which the summary used before, gives another p: the pooled one is meant.
    welch = stats.ttest_ind(AP_DIFFERENCES, [-d for d in PA_DIFFERENCES], equal_var=False)
    assert welch.pvalue != pytest.approx(p, rel=1e-3)


def test_carry_over_compares_participant_sums_between_sequences() -> None:
    carry = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P").carry_over
    sums_ap = [100 + d for d in AP_DIFFERENCES]
    sums_pa = [100 + d for d in PA_DIFFERENCES]
    assert carry.estimate == pytest.approx(np.mean(sums_ap) - np.mean(sums_pa))
    assert carry.p_value == pytest.approx(pooled_by_hand(sums_ap, sums_pa)[2])
    assert "descriptive only" in carry.label


def test_crossover_with_one_sequence_gives_contrasts_as_none_with_notes() -> None:
    rows = [row for row in CROSSOVER_ROWS if row[1] == "AP"]
    result = crossover_compare(rows, treatment_a="A", treatment_b="P")
    assert result.period_effect.p_value is None and result.period_effect.notes
    assert result.period_effect.estimate is None
    assert_json_safe(result.as_dict())


def test_crossover_as_dict_is_json_with_sequences_as_keys() -> None:
    result = crossover_compare(CROSSOVER_ROWS, treatment_a="A", treatment_b="P").as_dict()
    assert set(result["by_sequence"]) == {"AP", "PA"}
    assert result["by_sequence"]["PA"]["mean_difference"] == -14
    assert_json_safe(result)


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
    if result.ci_low is not None:
        assert result.ci_low <= result.mean_difference <= result.ci_high
    else:
        assert result.sd_difference == 0 and result.notes
    for p_value in (result.t_p_value, result.wilcoxon_p_value):
        assert p_value is None or 0 <= p_value <= 1
    assert_json_safe(result.as_dict())
