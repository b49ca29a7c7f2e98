"""The paired comparison the pilot paper used: paired t and Wilcoxon signed-rank on each
participant's mean under each treatment. It ignores the period: the period-adjusted analysis
is scoring.statistics.crossover."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scoring.statistics._numbers import (
    AsDict,
    Number,
    check_confidence,
    exact,
    mean,
    ratio_over_root,
    t_quantile,
    t_two_sided_p,
    variance,
)
from scoring.statistics.ranks import R_CONVENTION, signed_rank_test

PAIRED_LABEL = (
    "Paired comparison on per-participant treatment means, as in the pilot paper; "
    "not adjusted for period"
)
EFFECT_SIZE_PAIRED = "mean of the A - B differences / SD of the differences (d_z)"


@dataclass(frozen=True)
class PairedComparison(AsDict):
    """Within-participant comparison of treatment A against B on each participant's means.

    mean_difference is mean(A - B): negative means lower under A (better, for EHP-30 and VAS).
    ci_low/ci_high: t-interval of the mean difference at `confidence`; t_statistic, df,
    t_p_value: the paired t-test, two-sided (the same as scipy.stats.ttest_rel, computed from
    the exact mean and variance). effect_size: d_z, the mean difference over the SD of the
    differences. Wilcoxon signed-rank on the differences under wilcoxon_convention (R's
    wilcox.test defaults, see scoring.statistics.ranks): wilcoxon_statistic is R's V (sum of
    the ranks of the positive differences), wilcoxon_method R's method name,
    wilcoxon_zeros_dropped the number of zero differences left out, wilcoxon_ties whether tied
    |differences| were found (on exact values). Every None is explained in `notes`.
    """

    label: str
    n_pairs: int
    mean_a: float | None
    mean_b: float | None
    mean_difference: float | None
    sd_difference: float | None
    confidence: float
    ci_low: float | None
    ci_high: float | None
    t_statistic: float | None
    df: int | None
    t_p_value: float | None
    effect_size: float | None
    effect_size_definition: str
    wilcoxon_statistic: float | None
    wilcoxon_p_value: float | None
    wilcoxon_method: str | None
    wilcoxon_zeros_dropped: int
    wilcoxon_ties: bool
    wilcoxon_convention: str
    notes: tuple[str, ...]


def paired_compare(
    pairs: Sequence[tuple[Number, Number]], *, confidence: float = 0.95
) -> PairedComparison:
    """Paired t-test, t-interval, d_z and Wilcoxon signed-rank test of A - B.

    `pairs` holds one (mean under A, mean under B) per participant who has both, as exact
    numbers (Fraction or Decimal keep ties; see scoring.statistics._numbers). Fewer than 2
    pairs, or differences that are all equal, give None statistics with notes, never an
    exception or NaN. TypeError for a None or non-number value, ValueError for NaN, infinity
    or a confidence outside (0, 1).
    """
    check_confidence(confidence)
    exact_pairs = [(exact(a), exact(b)) for a, b in pairs]
    n = len(exact_pairs)
    differences = [a - b for a, b in exact_pairs]
    notes: list[str] = []
    empty = {
        "mean_a": None, "mean_b": None, "mean_difference": None, "sd_difference": None,
        "ci_low": None, "ci_high": None, "t_statistic": None, "df": None, "t_p_value": None,
        "effect_size": None,
    }  # fmt: skip
    values: dict[str, float | int | None] = dict(empty)
    if n:
        values["mean_a"] = float(mean([a for a, _ in exact_pairs]))
        values["mean_b"] = float(mean([b for _, b in exact_pairs]))
        values["mean_difference"] = float(mean(differences))
    if n < 2:
        notes.append(
            "paired t-test: 1 pair; the SD, interval and tests need at least 2" if n
            else "paired t-test: no participant has a mean under both treatments"
        )  # fmt: skip
    else:
        centre, spread = mean(differences), variance(differences)
        sd = math.sqrt(float(spread))
        values.update(sd_difference=sd, df=n - 1)
        if spread == 0:
            notes.append("paired t-test: every difference is the same (SD 0); the interval, t "
                         "and d_z are undefined")  # fmt: skip
        else:
            half = t_quantile(confidence, n - 1) * sd / math.sqrt(n)
            t = ratio_over_root(centre, spread / n)
            values.update(
                ci_low=float(centre) - half, ci_high=float(centre) + half,
                t_statistic=t, t_p_value=t_two_sided_p(t, n - 1),
                effect_size=ratio_over_root(centre, spread),
            )  # fmt: skip
    wilcoxon = signed_rank_test(differences)
    notes.extend(wilcoxon.notes)
    return PairedComparison(
        label=PAIRED_LABEL, n_pairs=n, confidence=confidence,
        effect_size_definition=EFFECT_SIZE_PAIRED,
        wilcoxon_statistic=wilcoxon.statistic, wilcoxon_p_value=wilcoxon.p_value,
        wilcoxon_method=wilcoxon.method,
        wilcoxon_zeros_dropped=sum(1 for d in differences if d == 0),
        wilcoxon_ties=wilcoxon.ties, wilcoxon_convention=R_CONVENTION, notes=tuple(notes),
        **values,
    )  # fmt: skip
