"""Wilcoxon signed-rank and rank-sum tests, Hodges-Lehmann estimate and its interval.

One named convention throughout: R's `wilcox.test` (package stats, R >= 4.0) with its defaults
(exact = NULL, correct = TRUE, digits.rank = Inf), reproduced step by step so the choice does not
depend on the scipy version (scipy's own defaults differ: no continuity correction, and a
different exact/approximate switch):

- zero differences are dropped before ranking (signed-rank; Wilcoxon's original rule, scipy's
  zero_method="wilcox");
- ranks are average ranks computed on the exact values, so ties are ties only when the values
  are equal as rationals (rounding can neither create nor break one);
- the exact null distribution is used when there are fewer than 50 values (signed-rank: non-zero
  differences; rank-sum: in each group) and no ties (and, signed-rank, no zeros); otherwise the
  normal approximation with tie-corrected variance and continuity correction 0.5;
- two-sided p = min(1, 2 * the smaller tail), statistic V (signed-rank) or W (rank-sum) as R
  prints them.

The Hodges-Lehmann estimate of a shift is the median of all pairwise differences; its interval
is Moses' order-statistic interval. With no ties and both groups under 50 this is exactly R's
`conf.int = TRUE` output; otherwise R switches to an iterative root search (uniroot, tolerance
1e-4) that cannot be reproduced to 1e-9, so the interval keeps the order-statistic form with the
critical rank from the continuity-corrected normal approximation (see rank_sum_test).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import numpy as np
from scipy import stats

R_CONVENTION = (
    "R wilcox.test defaults (exact = NULL, correct = TRUE): zeros dropped before ranking, "
    "average ranks on exact values, exact null distribution when n < 50 with no ties or zeros, "
    "otherwise normal approximation with tie-corrected variance and continuity correction 0.5; "
    "two-sided"
)
EXACT_BELOW = 50  # R: exact <- (n < 50)


def average_ranks(values: Sequence[Fraction]) -> tuple[list[Fraction], list[int]]:
    """Average ranks (1-based, ties share the mean of their positions) and the size of each
    tie group, computed on the exact values."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks: list[Fraction] = [Fraction(0)] * len(values)
    groups: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = Fraction(start + end + 2, 2)
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        groups.append(end - start + 1)
        start = end + 1
    return ranks, groups


@cache
def _signed_rank_counts(n: int) -> tuple[int, ...]:
    """Number of sign patterns giving each V = 0 .. n(n+1)/2 (coefficients of prod(1 + q^i))."""
    counts = [1] + [0] * (n * (n + 1) // 2)
    for i in range(1, n + 1):
        for total in range(len(counts) - 1, i - 1, -1):
            counts[total] += counts[total - i]
    return tuple(counts)


@cache
def rank_sum_counts(m: int, n: int) -> tuple[int, ...]:
    """Number of rank subsets giving each W = 0 .. m n (Mann-Whitney U of the first group):
    the coefficients of the Gaussian binomial [m + n choose m]_q, built exactly in integers."""
    counts = [1] + [0] * (m * n)
    for i in range(1, m + 1):
        # times (1 - q^(n + i)), then divided by (1 - q^i): each step is a polynomial again.
        for total in range(len(counts) - 1, n + i - 1, -1):
            counts[total] -= counts[total - n - i]
        for total in range(i, len(counts)):
            counts[total] += counts[total - i]
    return tuple(counts)


def _exact_two_sided(counts: tuple[int, ...], statistic: int) -> float:
    """R: p = P(S >= s) if s is above the centre else P(S <= s); min(1, 2 p). Exact rationals."""
    total = sum(counts)
    centre = Fraction(len(counts) - 1, 2)
    tail = sum(counts[statistic:]) if statistic > centre else sum(counts[: statistic + 1])
    return float(min(Fraction(1), Fraction(2 * tail, total)))


def _normal_two_sided(centred: Fraction, sigma: float) -> float:
    correction = Fraction(1, 2) * (1 if centred > 0 else -1 if centred < 0 else 0)
    z = float(centred - correction) / sigma
    return float(2 * stats.norm.sf(abs(z)))


@dataclass(frozen=True)
class RankTest:
    """A rank test's outcome: statistic as R prints it, two-sided p, R's method name."""

    statistic: float | None
    p_value: float | None
    method: str | None
    exact: bool
    ties: bool
    n_used: int
    notes: tuple[str, ...]


def signed_rank_test(differences: Sequence[Fraction]) -> RankTest:
    """Wilcoxon signed-rank test of exact differences against 0 (R's wilcox.test(x, y,
    paired = TRUE)). statistic is R's V, the sum of the ranks of the positive differences."""
    notes: list[str] = []
    nonzero = [d for d in differences if d != 0]
    zeros = len(differences) - len(nonzero)
    if zeros:
        notes.append(f"Wilcoxon signed-rank: {zeros} zero difference(s) dropped before ranking")
    n = len(nonzero)
    if n == 0:
        notes.append("Wilcoxon signed-rank: every difference is zero, the test is undefined")
        return RankTest(None, None, None, False, False, 0, tuple(notes))
    ranks, groups = average_ranks([abs(d) for d in nonzero])
    ties = any(size > 1 for size in groups)
    v = sum((r for r, d in zip(ranks, nonzero, strict=True) if d > 0), Fraction(0))
    if n < EXACT_BELOW and not ties and not zeros:
        p_value = _exact_two_sided(_signed_rank_counts(n), int(v))
        return RankTest(float(v), p_value, "Wilcoxon signed rank exact test", True, False, n,
                        tuple(notes))  # fmt: skip
    if ties:
        notes.append("Wilcoxon signed-rank: tied |differences|, so the normal approximation "
                     "with tie-corrected variance is used (as R does)")  # fmt: skip
    elif zeros and n < EXACT_BELOW:
        notes.append("Wilcoxon signed-rank: zero differences present, so the normal "
                     "approximation is used (as R does)")  # fmt: skip
    variance = Fraction(n * (n + 1) * (2 * n + 1), 24) - Fraction(
        sum(t**3 - t for t in groups), 48
    )
    p_value = _normal_two_sided(v - Fraction(n * (n + 1), 4), math.sqrt(variance))
    return RankTest(float(v), p_value, "Wilcoxon signed rank test with continuity correction",
                    False, ties, n, tuple(notes))  # fmt: skip


@dataclass(frozen=True)
class ShiftEstimate:
    """Hodges-Lehmann shift (median of x_i - y_j) with Moses' interval."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence_achieved: float | None
    ci_method: str | None
    notes: tuple[str, ...]


def rank_sum_test(x: Sequence[Fraction], y: Sequence[Fraction]) -> RankTest:
    """Wilcoxon rank-sum (Mann-Whitney) test of x against y (R's wilcox.test(x, y)).
    statistic is R's W: the sum of x's ranks in the pooled sample minus m(m+1)/2."""
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        note = "Wilcoxon rank-sum: a group is empty, the test is undefined"
        return RankTest(None, None, None, False, False, m + n, (note,))
    ranks, groups = average_ranks([*x, *y])
    ties = any(size > 1 for size in groups)
    w = sum(ranks[:m], Fraction(0)) - Fraction(m * (m + 1), 2)
    if m < EXACT_BELOW and n < EXACT_BELOW and not ties:
        p_value = _exact_two_sided(rank_sum_counts(m, n), int(w))
        return RankTest(float(w), p_value, "Wilcoxon rank sum exact test", True, False, m + n, ())
    notes = []
    total = m + n
    variance = Fraction(m * n, 12) * (
        (total + 1) - Fraction(sum(t**3 - t for t in groups), total * (total - 1))
    )
    if ties:
        notes.append("Wilcoxon rank-sum: tied values, so the normal approximation with "
                     "tie-corrected variance is used (as R does)")  # fmt: skip
    if variance == 0:
        notes.append("Wilcoxon rank-sum: every value is the same, the test is undefined")
        return RankTest(float(w), None, None, False, ties, total, tuple(notes))
    p_value = _normal_two_sided(w - Fraction(m * n, 2), math.sqrt(variance))
    return RankTest(float(w), p_value, "Wilcoxon rank sum test with continuity correction",
                    False, ties, total, tuple(notes))  # fmt: skip


def _quantile_of_counts(counts: tuple[int, ...], probability: float) -> int:
    """R's qwilcox: the smallest w with P(W <= w) >= probability."""
    total = sum(counts)
    target = Fraction(probability) * total
    running = 0
    for w, count in enumerate(counts):
        running += count
        if running >= target:
            return w
    return len(counts) - 1


def hodges_lehmann(
    x: Sequence[Fraction], y: Sequence[Fraction], *, confidence: float, ties: bool
) -> ShiftEstimate:
    """Median of the m n differences x_i - y_j and Moses' interval [D(k), D(mn + 1 - k)].

    k, as in R: qu = qwilcox((1 - confidence) / 2, m, n), at least 1, from the exact null
    distribution when there are no ties and both groups have fewer than 50 values
    (confidence_achieved = 1 - 2 P(W <= k - 1), the interval's exact coverage). Otherwise k is
    the same quantile of the continuity-corrected normal approximation to that distribution,
    ceil(mn/2 - 0.5 - z sqrt(mn(m + n + 1)/12)), and confidence_achieved is None. The pairwise
    differences are taken in float64 (up to 10^6 of them for two sequences of 1,000): the order
    statistics pick values that are exact differences rounded once.
    """
    m, n = len(x), len(y)
    notes: list[str] = []
    if m == 0 or n == 0:
        return ShiftEstimate(None, None, None, None, None, ("a group is empty",))
    differences = np.sort(np.subtract.outer(np.array([float(v) for v in x]),
                                            np.array([float(v) for v in y])).ravel())  # fmt: skip
    estimate = float(np.median(differences))
    alpha = 1 - confidence
    if m < EXACT_BELOW and n < EXACT_BELOW and not ties:
        counts = rank_sum_counts(m, n)
        k = max(_quantile_of_counts(counts, alpha / 2), 1)
        achieved: float | None = 1 - 2 * sum(counts[:k]) / sum(counts)
        method = "Moses interval, critical rank from the exact null distribution (as R)"
    else:
        spread = math.sqrt(m * n * (m + n + 1) / 12)
        z = float(stats.norm.ppf(1 - alpha / 2))
        k = max(math.ceil(m * n / 2 - 0.5 - z * spread), 1)
        achieved = None
        method = "Moses interval, critical rank from the normal approximation"
        if ties:
            notes.append("Hodges-Lehmann interval: with ties R searches the interval "
                         "iteratively; this one uses the order-statistic rule instead")  # fmt: skip
    low, high = float(differences[k - 1]), float(differences[m * n - k])
    return ShiftEstimate(estimate, low, high, achieved, method, tuple(notes))
