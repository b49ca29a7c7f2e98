"""Descriptive statistics (golden values, numpy) and properties checked with hypothesis. The
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

from scoring.statistics import (
    Describe,
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
