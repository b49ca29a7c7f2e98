"""Descriptive statistics of one outcome in one cell (treatment, period), exact until the end."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from scoring.statistics._numbers import (
    AsDict,
    Number,
    check_confidence,
    exact,
    sqrt,
    t_quantile,
    variance,
)
from scoring.statistics._numbers import mean as exact_mean


def _quantile_type7(ordered: Sequence[Fraction], p: Fraction) -> Fraction:
    # Hyndman & Fan type 7 = numpy.percentile(method="linear"), numpy's and R's default: the
    # value at position h = (n - 1) p of the sorted data, interpolating between neighbours.
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    if low == h:
        return ordered[low]
    return ordered[low] + (h - low) * (ordered[low + 1] - ordered[low])


@dataclass(frozen=True)
class Describe(AsDict):
    """n, mean, sample SD (ddof=1; None when n < 2), median, quartiles and range.

    q1, median and q3 use numpy's default "linear" method (Hyndman & Fan type 7, also R's
    default), computed exactly and converted once. Every field except n is None when n == 0.
    """

    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None


def describe(values: Sequence[Number]) -> Describe:
    """Descriptive statistics of present values (see Describe).

    TypeError when a value is None or not a number, ValueError when one is NaN or infinite:
    the caller filters missing values out, so a missing value can never become 0.
    """
    ordered = sorted(exact(v) for v in values)
    n = len(ordered)
    if n == 0:
        return Describe(0, None, None, None, None, None, None, None)
    sd = sqrt(variance(ordered)) if n >= 2 else None
    q1, median, q3 = (float(_quantile_type7(ordered, Fraction(k, 4))) for k in (1, 2, 3))
    return Describe(
        n=n, mean=float(exact_mean(ordered)), sd=sd, median=median, q1=q1, q3=q3,
        minimum=float(ordered[0]), maximum=float(ordered[-1]),
    )  # fmt: skip


def mean_confidence_interval(
    *, n: int, mean: Number, sd: Number | None, confidence: float = 0.95
) -> tuple[float, float] | None:
    """t-based interval mean ± t(1-(1-confidence)/2, n-1) * sd / sqrt(n) for one cell of the
    chart (n, mean, sd aggregated by the database); None when n < 2 or sd is None."""
    check_confidence(confidence)
    if n < 2 or sd is None:
        return None
    centre, spread = float(exact(mean)), float(exact(sd))
    half = t_quantile(confidence, n - 1) * spread / math.sqrt(n)
    return centre - half, centre + half
