"""Statistics for the unblinded per-treatment summary (architecture, data flow step 7).

Pure: no Django, no clock, no I/O. Inputs are per-participant numbers the database has already
aggregated; each may be an int, float, Decimal or Fraction. Sums, means and variances are taken
exactly (as Fractions) and rounded once to float64, so integers give exact-looking results (the
mean of [1, 2] is 1.5) and a mean always lies within [minimum, maximum]. Test statistics and
p-values come from scipy in float64. No output field is ever NaN or infinite: what cannot be
computed is None, and the comparison dataclasses say why in `notes`. Nothing is rounded here;
rounding is for display.

A missing value is never 0: None in the input raises TypeError, so the caller must pass only
present values (and only participants with a mean under both treatments to `paired_compare`).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real
from typing import Any, NamedTuple

from scipy import stats

Number = int | float | Decimal | Fraction

# Wilcoxon signed-rank: the exact null distribution (no ties) is cheap up to here; scipy's own
# method="auto" uses the same cut-off.
WILCOXON_EXACT_MAX_N = 50
# With ties the exact conditional distribution enumerates all 2**n sign patterns; 2**13 = 8192
# stays fast and deterministic (scipy's "auto" also switches at 13).
WILCOXON_PERMUTATION_MAX_N = 13


def _exact(value: object) -> Fraction:
    """`value` as an exact Fraction. TypeError for None, bool or a non-number; ValueError for
    NaN or infinity."""
    if value is None:
        raise TypeError("missing value (None): pass only present values, a missing value is not 0")
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise TypeError(f"expected int, float, Decimal or Fraction, got {type(value).__name__}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Integral):
        return Fraction(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite value {value!r}")
        return Fraction(value)
    as_float = float(value)
    if not math.isfinite(as_float):
        raise ValueError(f"non-finite value {value!r}")
    return Fraction(as_float)


def _mean(values: Sequence[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)


def _variance(values: Sequence[Fraction]) -> Fraction:
    """Sample variance (ddof=1), exact; needs at least 2 values."""
    centre = _mean(values)
    return sum(((v - centre) ** 2 for v in values), Fraction(0)) / (len(values) - 1)


def _quantile_type7(ordered: Sequence[Fraction], p: Fraction) -> Fraction:
    # Hyndman & Fan type 7 = numpy.percentile(method="linear"), numpy's default: the value at
    # position h = (n - 1) p of the sorted data, interpolating linearly between neighbours.
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    if low == h:
        return ordered[low]
    return ordered[low] + (h - low) * (ordered[low + 1] - ordered[low])


def _finite(what: str, notes: list[str], *values: Any) -> tuple[float | None, ...]:
    """scipy results as finite floats; when any is NaN or infinite, all are None with a note:
    NaN must never reach a page, and a p-value is never shown without its statistic."""
    results = tuple(float(v) for v in values)
    if all(math.isfinite(r) for r in results):
        return results
    notes.append(f"{what}: not finite in float arithmetic {results}, reported as None")
    return (None,) * len(results)


def _scipy(what: str, notes: list[str], function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a scipy test, turning its warnings (e.g. precision loss on nearly identical data)
    into notes: they qualify the numbers, so they belong next to them, not in a log."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    notes.extend(f"{what}: scipy warned: {w.message}" for w in caught)
    return result


def _check_confidence(confidence: float) -> None:
    if isinstance(confidence, bool) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("non-finite float in a statistics result")  # an invariant, never data
    return value


class _AsDict:
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: nested dicts and lists of str, int, full-precision float, None."""
        return _jsonable(self)


@dataclass(frozen=True)
class Describe(_AsDict):
    """n, mean, sample SD (ddof=1; None when n < 2), median, quartiles and range.

    q1, median and q3 use numpy's default "linear" method (Hyndman & Fan type 7, also R's
    default): the value at position (n - 1) p of the sorted values, interpolated linearly. They
    are computed exactly and rounded once (tests check them against numpy.percentile). Every
    field except n is None when n == 0.
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
    exact = sorted(_exact(v) for v in values)
    n = len(exact)
    if n == 0:
        return Describe(0, None, None, None, None, None, None, None)
    sd = math.sqrt(float(_variance(exact))) if n >= 2 else None
    q1, median, q3 = (float(_quantile_type7(exact, Fraction(k, 4))) for k in (1, 2, 3))
    return Describe(
        n=n, mean=float(_mean(exact)), sd=sd, median=median, q1=q1, q3=q3,
        minimum=float(exact[0]), maximum=float(exact[-1]),
    )  # fmt: skip


def mean_confidence_interval(
    *, n: int, mean: Number, sd: Number | None, confidence: float = 0.95
) -> tuple[float, float] | None:
    """t-based interval mean ± t(1-(1-confidence)/2, n-1) * sd / sqrt(n) for one cell of the
    chart (n, mean, sd aggregated by the database); None when n < 2 or sd is None."""
    _check_confidence(confidence)
    if n < 2 or sd is None:
        return None
    centre, spread = float(_exact(mean)), float(_exact(sd))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * spread / math.sqrt(n)
    return centre - half, centre + half


@dataclass(frozen=True)
class PairedComparison(_AsDict):
    """Within-participant comparison of treatment A against B on each participant's means.

    mean_difference is mean(a - b): negative means lower under A (better, for EHP-30 and VAS).
    ci_low/ci_high: t-interval on the mean difference at `confidence`. t_statistic/t_p_value:
    scipy.stats.ttest_rel, two-sided. Wilcoxon signed-rank on the differences, two-sided,
    zero_method="wilcox" (zero differences are dropped before ranking, Wilcoxon's original rule)
    and method chosen explicitly so it is recorded and does not depend on the scipy version:
    "exact" (no ties, at most 50 non-zero differences); "exact-conditional" (ties, at most 13:
    exact permutation distribution of the tied ranks, all 2**n sign patterns enumerated);
    "normal-approximation" (otherwise; tie and continuity corrected). wilcoxon_statistic is
    scipy's two-sided statistic, min(R+, R-). Every None is explained in `notes`.
    """

    n_pairs: int
    mean_a: float | None
    mean_b: float | None
    mean_difference: float | None
    sd_difference: float | None
    confidence: float
    ci_low: float | None
    ci_high: float | None
    t_statistic: float | None
    t_p_value: float | None
    wilcoxon_statistic: float | None
    wilcoxon_p_value: float | None
    wilcoxon_method: str | None
    notes: tuple[str, ...]


def _wilcoxon(
    differences: Sequence[Fraction], notes: list[str]
) -> tuple[float | None, float | None, str | None]:
    nonzero = [float(d) for d in differences if d != 0]
    if dropped := len(differences) - len(nonzero):
        notes.append(f"Wilcoxon: {dropped} zero difference(s) dropped (zero_method='wilcox')")
    if not nonzero:
        notes.append("Wilcoxon: all differences are zero, the test is undefined")
        return None, None, None
    n = len(nonzero)
    method: str | stats.PermutationMethod
    if len({abs(d) for d in nonzero}) == n and n <= WILCOXON_EXACT_MAX_N:
        method, label = "exact", "exact"
    elif n <= WILCOXON_PERMUTATION_MAX_N:
        # n_resamples >= 2**n makes permutation_test enumerate every sign pattern: exact, no RNG.
        method, label = stats.PermutationMethod(n_resamples=2**n), "exact-conditional"
    else:
        method, label = "asymptotic", "normal-approximation"
    result = _scipy(
        "Wilcoxon", notes, stats.wilcoxon, nonzero,
        zero_method="wilcox", correction=True, alternative="two-sided", method=method,
    )  # fmt: skip
    statistic, p_value = _finite("Wilcoxon", notes, result.statistic, result.pvalue)
    return statistic, p_value, label if p_value is not None else None


_SPREAD_AND_TESTS = (
    "sd_difference", "ci_low", "ci_high", "t_statistic", "t_p_value",
    "wilcoxon_statistic", "wilcoxon_p_value", "wilcoxon_method",
)  # fmt: skip


def paired_compare(
    pairs: Sequence[tuple[Number, Number]], *, confidence: float = 0.95
) -> PairedComparison:
    """Paired t-test, t-interval and Wilcoxon signed-rank test of A - B (see PairedComparison).

    `pairs` holds one (mean under A, mean under B) per participant who has both. Fewer than 2
    pairs, or differences that are all equal, give None statistics with notes, never an
    exception or NaN. TypeError/ValueError for None or non-finite values (as describe);
    ValueError for a confidence outside (0, 1).
    """
    _check_confidence(confidence)
    exact = [(_exact(a), _exact(b)) for a, b in pairs]
    n = len(exact)
    notes: list[str] = []
    a, b = [p[0] for p in exact], [p[1] for p in exact]
    differences = [x - y for x, y in exact]
    means: dict[str, float | None] = dict.fromkeys(("mean_a", "mean_b", "mean_difference"))
    if n:
        means = {
            "mean_a": float(_mean(a)), "mean_b": float(_mean(b)),
            "mean_difference": float(_mean(differences)),
        }  # fmt: skip
    if n < 2:
        notes.append(
            "1 pair: the SD, confidence interval and tests need at least 2 pairs" if n
            else "no pairs: no participant has a mean under both treatments"
        )  # fmt: skip
        return PairedComparison(
            n_pairs=n, confidence=confidence, notes=tuple(notes), **means,
            **dict.fromkeys(_SPREAD_AND_TESTS),
        )  # fmt: skip
    variance = _variance(differences)
    sd, mean_difference = math.sqrt(float(variance)), float(_mean(differences))
    # Computed from the exact mean and SD rather than taken from scipy, so it always contains
    # mean_difference; tests check it against ttest_rel(...).confidence_interval().
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    t_statistic = t_p_value = None
    if variance == 0:
        notes.append("t-test: all differences are equal (SD 0), the t statistic is undefined")
    else:
        result = _scipy(
            "t-test", notes, stats.ttest_rel, [float(x) for x in a], [float(y) for y in b]
        )
        t_statistic, t_p_value = _finite("t-test", notes, result.statistic, result.pvalue)
    w_statistic, w_p_value, w_method = _wilcoxon(differences, notes)
    return PairedComparison(
        n_pairs=n, **means, sd_difference=sd, confidence=confidence,
        ci_low=mean_difference - half, ci_high=mean_difference + half,
        t_statistic=t_statistic, t_p_value=t_p_value, wilcoxon_statistic=w_statistic,
        wilcoxon_p_value=w_p_value, wilcoxon_method=w_method, notes=tuple(notes),
    )  # fmt: skip


class ParticipantMean(NamedTuple):
    """One participant's mean of one outcome under one treatment, with her sequence."""

    participant: str
    sequence: str
    treatment: str
    mean: Number


@dataclass(frozen=True)
class SequenceContrast(_AsDict):
    """Welch two-sample t-test (scipy.stats.ttest_ind, equal_var=False, two-sided) of one
    per-participant quantity between the A-first and the B-first sequence.

    `quantity` names what was compared; mean_a_first/mean_b_first are its group means;
    `estimate` is the effect it estimates (see CrossoverComparison). None with notes when a
    group has fewer than 2 participants or neither group varies.
    """

    quantity: str
    n_a_first: int
    n_b_first: int
    mean_a_first: float | None
    mean_b_first: float | None
    estimate: float | None
    t_statistic: float | None
    df: float | None
    p_value: float | None
    notes: tuple[str, ...]


def _welch(
    quantity: str, first: list[Fraction], second: list[Fraction], *, scale: Fraction | int
) -> SequenceContrast:
    notes: list[str] = []
    m1 = float(_mean(first)) if first else None
    m2 = float(_mean(second)) if second else None
    estimate = float(scale * (_mean(first) - _mean(second))) if first and second else None
    t_statistic = df = p_value = None
    if len(first) < 2 or len(second) < 2:
        notes.append("Welch t-test needs at least 2 participants in each sequence")
    elif _variance(first) == 0 and _variance(second) == 0:
        notes.append("Welch t-test: no variation within either sequence, t is undefined")
    else:
        result = _scipy(
            "Welch t-test", notes, stats.ttest_ind,
            [float(x) for x in first], [float(x) for x in second], equal_var=False,
        )  # fmt: skip
        t_statistic, df, p_value = _finite(
            "Welch t-test", notes, result.statistic, result.df, result.pvalue
        )
    return SequenceContrast(
        quantity, len(first), len(second), m1, m2, estimate, t_statistic, df, p_value, tuple(notes)
    )


@dataclass(frozen=True)
class CrossoverComparison(_AsDict):
    """A against B in a two-sequence crossover (AB/BA; with blocks of periods, "period" below
    means the first versus the second block).

    overall: paired_compare over every participant with both treatments; by_sequence: the same
    within each sequence, sorted by sequence code. The three contrasts are the standard 2x2
    crossover analyses (Jones & Kenward, Design and Analysis of Cross-Over Trials, ch. 2), each
    a Welch t-test between the A-first and B-first sequences:
    - period_effect: compares d = A - B between sequences; estimate = (mean_AF - mean_BF) / 2,
      the first-block minus second-block effect (0 when there is no period effect).
    - treatment_effect_period_adjusted: compares first-block minus second-block differences;
      estimate = (mean_AF(A - B) + mean_BF(A - B)) / 2, the A - B effect adjusted for period,
      unbiased even when the sequences are unbalanced (the overall paired mean is not).
    - carry_over: compares s = A + B between sequences; estimate = mean_AF - mean_BF. It has
      low power and must not be used to choose the analysis (Freeman, Stat Med 1989); it is
      shown for description only.
    excluded_participants: participants with a mean under only one treatment.
    """

    treatment_a: str
    treatment_b: str
    sequence_a_first: str
    sequence_b_first: str
    overall: PairedComparison
    by_sequence: tuple[tuple[str, PairedComparison], ...]
    period_effect: SequenceContrast
    treatment_effect_period_adjusted: SequenceContrast
    carry_over: SequenceContrast
    excluded_participants: int
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with by_sequence as {sequence code: comparison}."""
        result = _jsonable(self)
        result["by_sequence"] = {code: c.as_dict() for code, c in self.by_sequence}
        return result


def crossover_compare(
    rows: Iterable[ParticipantMean | tuple[str, str, str, Number]],
    *,
    treatment_a: str,
    treatment_b: str,
    sequence_a_first: str | None = None,
    sequence_b_first: str | None = None,
    confidence: float = 0.95,
) -> CrossoverComparison:
    """Overall, per-sequence and 2x2 crossover contrasts (see CrossoverComparison).

    `rows` are (participant, sequence, treatment, mean), at most one per participant and
    treatment. The sequences default to treatment_a + treatment_b ("AP") and the reverse
    ("PA"). ValueError for an unknown treatment, a participant listed twice for a treatment or
    under two sequences, or identical treatments or sequences; TypeError for a None mean.
    """
    sequence_a_first = sequence_a_first or treatment_a + treatment_b
    sequence_b_first = sequence_b_first or treatment_b + treatment_a
    if treatment_a == treatment_b or sequence_a_first == sequence_b_first:
        raise ValueError("the two treatments and the two sequences must differ")
    means: dict[str, dict[str, Fraction]] = {}
    sequences: dict[str, str] = {}
    for row in rows:
        participant, sequence, treatment, mean = ParticipantMean(*row)
        if treatment not in (treatment_a, treatment_b):
            raise ValueError(f"unknown treatment {treatment!r} for participant {participant!r}")
        if sequences.setdefault(participant, sequence) != sequence:
            raise ValueError(f"participant {participant!r} is listed under two sequences")
        if treatment in means.setdefault(participant, {}):
            raise ValueError(f"participant {participant!r} listed twice for {treatment!r}")
        means[participant][treatment] = _exact(mean)
    complete = sorted(p for p, by in means.items() if len(by) == 2)
    pairs = {p: (means[p][treatment_a], means[p][treatment_b]) for p in complete}
    notes: list[str] = []
    if excluded := len(means) - len(complete):
        notes.append(f"{excluded} participant(s) with only one treatment excluded")
    by_sequence = tuple(
        (code, paired_compare([pairs[p] for p in complete if sequences[p] == code],
                              confidence=confidence))
        for code in sorted({sequences[p] for p in complete})
    )  # fmt: skip
    if unknown := sorted({c for c, _ in by_sequence} - {sequence_a_first, sequence_b_first}):
        notes.append(f"sequences {unknown} are in by_sequence but not in the 2x2 contrasts")
    af = [pairs[p] for p in complete if sequences[p] == sequence_a_first]
    bf = [pairs[p] for p in complete if sequences[p] == sequence_b_first]
    half = Fraction(1, 2)
    d_af, d_bf = [a - b for a, b in af], [a - b for a, b in bf]
    return CrossoverComparison(
        treatment_a=treatment_a, treatment_b=treatment_b,
        sequence_a_first=sequence_a_first, sequence_b_first=sequence_b_first,
        overall=paired_compare(list(pairs.values()), confidence=confidence),
        by_sequence=by_sequence,
        period_effect=_welch("A - B", d_af, d_bf, scale=half),
        treatment_effect_period_adjusted=_welch(
            "first block - second block", d_af, [-d for d in d_bf], scale=half
        ),
        carry_over=_welch("A + B", [a + b for a, b in af], [a + b for a, b in bf], scale=1),
        excluded_participants=excluded, notes=tuple(notes),
    )  # fmt: skip
