"""Data sets and independent computations shared by the statistics tests.

Everything here recomputes a result by a route other than the one scoring.statistics takes
(numpy on floats, statsmodels OLS, brute-force enumeration), so a test compares two
computations rather than one computation with itself.
"""

from __future__ import annotations

import itertools
import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from scoring.statistics import CrossoverDesign

DESIGN = CrossoverDesign("A", "P", "AP", "PA")


def decimals(text: str) -> list[Decimal]:
    return [Decimal(v) for v in text.split()]


# Senn, Cross-over Trials in Clinical Research (2nd ed., 2002), ch. 3: peak expiratory flow
# (l/min) 8 hours after a single dose of formoterol or salbutamol in 13 children with asthma,
# (period 1, period 2) per patient; 7 in the sequence formoterol -> salbutamol, 6 in the
# reverse. Senn's period-adjusted estimate of formoterol - salbutamol is 46.6 l/min.
SENN_FOR_SAL = [(310, 270), (310, 260), (370, 300), (410, 390), (250, 210), (380, 350),
                (330, 365)]  # fmt: skip
SENN_SAL_FOR = [(370, 385), (310, 400), (380, 410), (290, 320), (260, 340), (90, 220)]

# Student (1908) / Cushny & Peebles: extra hours of sleep under two hypnotics in the same 10
# patients (R's datasets::sleep), as decimals so the tied differences stay tied.
SLEEP_1 = decimals("0.7 -1.6 -0.2 -1.2 -0.1 3.4 3.7 0.8 0.0 2.0")
SLEEP_2 = decimals("1.9 0.8 1.1 0.1 -0.1 4.4 5.5 1.6 4.6 3.4")

# The examples of R's ?wilcox.test, from Hollander & Wolfe (1973), 29f. and 69f.
DEPRESSION_X = decimals("1.83 0.50 1.62 2.48 1.68 1.88 1.55 3.06 1.30")
DEPRESSION_Y = decimals("0.878 0.647 0.598 2.05 1.06 1.29 1.06 3.14 1.29")
PERMEABILITY_X = decimals("0.80 0.83 1.89 1.04 1.45 1.38 1.91 1.64 0.73 1.46")
PERMEABILITY_Y = decimals("1.15 0.88 0.90 0.74 1.21")


def senn_observations() -> list[tuple[str, str, int, str, int]]:
    """Senn's data as observations: formoterol is A, so for/sal is the A-first sequence."""
    rows = []
    for prefix, sequence, pairs in (("F", "AP", SENN_FOR_SAL), ("S", "PA", SENN_SAL_FOR)):
        first, second = ("A", "P") if sequence == "AP" else ("P", "A")
        for i, (one, two) in enumerate(pairs):
            rows += [(f"{prefix}{i}", sequence, 1, first, one), (f"{prefix}{i}", sequence, 2,
                     second, two)]  # fmt: skip
    return rows


def pilot_like_observations(
    *, seed: int, participants: int = 15, withdrawn: tuple[int, ...] = (),
    missing: tuple[tuple[int, int], ...] = (), sequence_of: Any = None, decimals: int = 2,
) -> list[tuple[str, str, int, str, Decimal]]:  # fmt: skip
    """A 6-period, 2-block crossover like the pilot: AP gives A in periods 1-3, PA in 4-6.
    withdrawn participants have periods 1-3 only; `missing` removes (participant, period)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(participants):
        sequence = sequence_of(i) if sequence_of else ("AP" if i % 2 == 0 else "PA")
        level = rng.normal(50, 12)
        for period in range(1, 7):
            if (i in withdrawn and period > 3) or (i, period) in missing:
                continue
            treatment = ("A" if period <= 3 else "P") if sequence == "AP" else (
                "P" if period <= 3 else "A")  # fmt: skip
            value = level - 7 * (treatment == "A") + 0.8 * period + rng.normal(0, 6)
            rows.append((f"S{i:03d}", sequence, period, treatment,
                         Decimal(f"{value:.{decimals}f}")))  # fmt: skip
    return rows


def block_means_by_hand(
    rows: list[tuple[str, str, int, str, Any]],
) -> dict[str, tuple[str, float | None, float | None]]:
    """participant -> (sequence, first block mean, second block mean) with numpy; a sequence
    code spells its treatments in block order ("AP": A first)."""
    out: dict[str, tuple[str, list[float], list[float]]] = {}
    for participant, sequence, _, treatment, value in rows:
        entry = out.setdefault(participant, (sequence, [], []))
        (entry[1] if treatment == sequence[0] else entry[2]).append(float(value))
    return {
        p: (s, float(np.mean(a)) if a else None, float(np.mean(b)) if b else None)
        for p, (s, a, b) in out.items()
    }


def walk(value: Any) -> list[Any]:
    """Every leaf of a JSON-like structure."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in walk(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in walk(item)]
    return [value]


def assert_json_safe(result: dict[str, Any]) -> None:
    for leaf in walk(result):
        assert not (isinstance(leaf, float) and not math.isfinite(leaf)), result
        assert leaf is None or isinstance(leaf, str | int | float | bool), type(leaf)
    json.dumps(result, allow_nan=False)  # raises on NaN or infinity


def average_ranks(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [
        sum(i + 1 for i, w in enumerate(ordered) if w == v) / ordered.count(v) for v in values
    ]


def signed_rank_exact_p(differences: list[float]) -> float:
    """Two-sided p of R's exact signed-rank test by enumerating all 2**n sign patterns."""
    ranks = average_ranks([abs(d) for d in differences])
    observed = sum(r for r, d in zip(ranks, differences, strict=True) if d > 0)
    centre = sum(ranks) / 2
    patterns = list(itertools.product((0, 1), repeat=len(ranks)))
    totals = [sum(r for r, s in zip(ranks, signs, strict=True) if s) for signs in patterns]
    lower = sum(1 for t in totals if t <= observed) / len(patterns)
    upper = sum(1 for t in totals if t >= observed) / len(patterns)
    return min(1.0, 2 * (upper if observed > centre else lower))


def signed_rank_normal_p(differences: list[float]) -> float:
    """R's normal approximation: zeros dropped, tie-corrected SD, continuity correction."""
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    ranks = average_ranks([abs(d) for d in nonzero])
    v = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    ties = [ranks.count(r) for r in set(ranks)]
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - sum(t**3 - t for t in ties) / 48)
    z = v - n * (n + 1) / 4
    z = (z - math.copysign(0.5, z) if z else 0.0) / sigma
    return math.erfc(abs(z) / math.sqrt(2))


def rank_sum_null_counts(m: int, n: int) -> dict[int, int]:
    """Distribution of W (Mann-Whitney U of the first group) by enumerating every choice of
    the first group's ranks among 1..m+n."""
    counts: dict[int, int] = {}
    for chosen in itertools.combinations(range(1, m + n + 1), m):
        w = sum(chosen) - m * (m + 1) // 2
        counts[w] = counts.get(w, 0) + 1
    return counts


def exact(values: list[Any]) -> list[Fraction]:
    return [Fraction(v) for v in values]
