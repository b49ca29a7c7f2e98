"""Period-adjusted analyses of a two-sequence crossover on treatment-block means.

For participant i with block means y1 (first block) and y2 (second block), the half period
difference is d = (y1 - y2) / 2. Under the usual model (participant + block + treatment
effects) d has mean (tau + pi) / 2 in the A-first sequence and (-tau + pi) / 2 in the B-first
sequence, where tau = A - B and pi = block 1 - block 2. Hence (Hills & Armitage, Br J Clin
Pharmacol 1979;8:7-20; Jones & Kenward, Design and Analysis of Cross-Over Trials, 3rd ed., ch. 2;
SAS PROC TTEST with CROSSOVER=):

- treatment effect (A - B, adjusted for period) = mean d(A-first) - mean d(B-first);
- period effect (block 1 - block 2, adjusted for treatment) = mean d(A-first) + mean d(B-first);
- both tested with the pooled-variance two-sample t on d, df = n1 + n2 - 2. Unlike the naive
  paired mean, the estimate stays unbiased when the sequences are unbalanced;
- carry-over (sequence effect) = difference between sequences of the participant sums y1 + y2,
  pooled two-sample t: reported for description only (CARRY_OVER_REASON).

Only participants with a mean in both blocks enter (a withdrawal after the first block does
not); the mixed model (scoring.statistics.mixed) uses the others too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from scoring.statistics._numbers import (
    AsDict,
    check_confidence,
    mean,
    ratio_over_root,
    sqrt,
    sum_of_squares,
    t_quantile,
    t_two_sided_p,
)
from scoring.statistics.design import CrossoverDesign, ParticipantBlocks
from scoring.statistics.ranks import R_CONVENTION, hodges_lehmann, rank_sum_test

TWO_SEQUENCE_METHOD = (
    "Two-sequence crossover analysis (Hills & Armitage 1979; SAS PROC TTEST CROSSOVER=): "
    "pooled-variance two-sample t on half period differences between sequences, on each "
    "participant's treatment-block means"
)
CARRY_OVER_REASON = (
    "Descriptive only, not a gate for choosing the analysis: the carry-over test compares "
    "participant sums between sequences, so it is a between-participant test with low power, "
    "and choosing the analysis by its result (the two-stage procedure) inflates the type I "
    "error of the treatment comparison (Freeman, Stat Med 1989;8:1421-1432; Senn, Cross-over "
    "Trials in Clinical Research, 2002, ch. 3). Carry-over is prevented by design (treatment "
    "blocks, washout); this estimate is also confounded with treatment-by-period interaction "
    "and with differences between the participants of the two sequences."
)
EFFECT_SIZE_PERIOD_ADJUSTED = (
    "period-adjusted A - B effect / pooled within-sequence SD of the A - B differences "
    "(d_z type; not Cohen's d of a parallel-group trial)"
)
RANK_SUM_METHOD = (
    "Wilcoxon rank-sum (Mann-Whitney) test of the half period differences between sequences "
    "(Koch, Biometrics 1972;28:577-584), Hodges-Lehmann estimate of A - B with Moses' interval"
)


@dataclass(frozen=True)
class Contrast(AsDict):
    """One pooled two-sample t contrast between the sequences.

    `quantity` is what was compared per participant and mean_a_first/mean_b_first are its
    sequence means; `estimate` is the effect it estimates (label). standard_error uses the
    pooled variance; ci_low/ci_high is the t interval at `confidence`, df = n1 + n2 - 2,
    two-sided p. None with a note when a sequence has nobody, df < 1 or the pooled SD is 0.
    """

    label: str
    quantity: str
    mean_a_first: float | None
    mean_b_first: float | None
    estimate: float | None
    standard_error: float | None
    confidence: float
    ci_low: float | None
    ci_high: float | None
    t_statistic: float | None
    df: int | None
    p_value: float | None
    notes: tuple[str, ...]


def _pooled_contrast(
    label: str,
    quantity: str,
    x: Sequence[Fraction],
    y: Sequence[Fraction],
    *,
    sign_y: int,
    confidence: float,
) -> tuple[Contrast, Fraction | None]:
    """Contrast of mean(x) + sign_y * mean(y), and the pooled variance of the quantity."""
    notes: list[str] = []
    mx = float(mean(x)) if x else None
    my = float(mean(y)) if y else None
    fields: dict[str, float | int | None] = dict.fromkeys(
        ("estimate", "standard_error", "ci_low", "ci_high", "t_statistic", "df", "p_value")
    )
    pooled = None
    if not x or not y:
        notes.append(f"{label}: needs participants with both blocks in each sequence")
    else:
        estimate = mean(x) + sign_y * mean(y)
        fields["estimate"] = float(estimate)
        df = len(x) + len(y) - 2
        if df < 1:
            notes.append(f"{label}: needs at least 3 participants with both blocks "
                         "(df = n1 + n2 - 2 >= 1)")  # fmt: skip
        else:
            pooled = (sum_of_squares(x) + sum_of_squares(y)) / df
            squared_se = pooled * (Fraction(1, len(x)) + Fraction(1, len(y)))
            fields["df"] = df
            if pooled == 0:
                notes.append(f"{label}: {quantity} does not vary within either sequence "
                             "(pooled SD 0); interval and test are undefined")  # fmt: skip
            else:
                se = sqrt(squared_se)
                t = ratio_over_root(estimate, squared_se)
                half = t_quantile(confidence, df) * se
                fields.update(
                    standard_error=se, ci_low=float(estimate) - half,
                    ci_high=float(estimate) + half, t_statistic=t, p_value=t_two_sided_p(t, df),
                )  # fmt: skip
    contrast = Contrast(
        label=label, quantity=quantity, mean_a_first=mx, mean_b_first=my,
        confidence=confidence, notes=tuple(notes), **fields,  # type: ignore[arg-type]
    )  # fmt: skip
    return contrast, pooled


@dataclass(frozen=True)
class TwoSequenceAnalysis(AsDict):
    """The primary period-adjusted analysis (see the module docstring).

    treatment: A - B adjusted for period; period: block 1 - block 2 adjusted for treatment;
    carry_over: mean participant sum (A-first) - (B-first), descriptive (carry_over_reason).
    effect_size: treatment estimate / sd_within, where sd_within is the pooled within-sequence
    SD of the A - B differences (twice that of the half differences).
    """

    method: str
    design: CrossoverDesign
    n_a_first: int
    n_b_first: int
    confidence: float
    treatment: Contrast
    period: Contrast
    carry_over: Contrast
    carry_over_descriptive_only: bool
    carry_over_reason: str
    sd_within: float | None
    effect_size: float | None
    effect_size_definition: str
    notes: tuple[str, ...]


def _split(
    participants: Iterable[ParticipantBlocks], design: CrossoverDesign
) -> tuple[list[ParticipantBlocks], list[ParticipantBlocks]]:
    """Complete participants of the A-first and of the B-first sequence."""
    a_first, b_first = [], []
    for row in participants:
        if row.sequence not in (design.sequence_a_first, design.sequence_b_first):
            raise ValueError(f"participant {row.participant!r}: unknown sequence {row.sequence!r}")
        if row.complete:
            (a_first if row.sequence == design.sequence_a_first else b_first).append(row)
    return a_first, b_first


def _half_differences(rows: Sequence[ParticipantBlocks]) -> list[Fraction]:
    return [(r.first - r.second) / 2 for r in rows]  # type: ignore[operator]


def _empty_sequence_notes(
    a_first: Sequence[ParticipantBlocks], b_first: Sequence[ParticipantBlocks],
    design: CrossoverDesign,
) -> list[str]:  # fmt: skip
    return [
        f"sequence {code} has no participant with a mean in both blocks"
        for code, rows in ((design.sequence_a_first, a_first), (design.sequence_b_first, b_first))
        if not rows
    ]


def two_sequence_analyse(
    participants: Iterable[ParticipantBlocks],
    *,
    design: CrossoverDesign,
    confidence: float = 0.95,
) -> TwoSequenceAnalysis:
    """Treatment, period and carry-over contrasts of the two-sequence analysis.

    Participants without a mean in both blocks are left out (they are counted by the caller,
    see scoring.statistics.analysis). Never raises for too few participants or no variation:
    the affected fields are None with notes. ValueError for an unknown sequence or confidence.
    """
    check_confidence(confidence)
    a_first, b_first = _split(participants, design)
    x, y = _half_differences(a_first), _half_differences(b_first)
    a, b = design.treatment_a, design.treatment_b
    treatment, pooled = _pooled_contrast(
        f"treatment effect {a} - {b}, adjusted for period", "half period difference",
        x, y, sign_y=-1, confidence=confidence,
    )  # fmt: skip
    period, _ = _pooled_contrast(
        "period effect, first block - second block, adjusted for treatment",
        "half period difference", x, y, sign_y=1, confidence=confidence,
    )  # fmt: skip
    sums = ([r.first + r.second for r in rows] for rows in (a_first, b_first))  # type: ignore[operator]
    carry_over, _ = _pooled_contrast(
        f"carry-over (sequence {design.sequence_a_first} - {design.sequence_b_first}), "
        "descriptive only", "participant sum of the two block means",
        *sums, sign_y=-1, confidence=confidence,
    )  # fmt: skip
    sd_within = effect_size = None
    if pooled is not None:
        sd_within = sqrt(4 * pooled)
        if pooled:
            effect_size = ratio_over_root(mean(x) - mean(y), 4 * pooled)
    return TwoSequenceAnalysis(
        method=TWO_SEQUENCE_METHOD, design=design, n_a_first=len(x), n_b_first=len(y),
        confidence=confidence, treatment=treatment, period=period, carry_over=carry_over,
        carry_over_descriptive_only=True, carry_over_reason=CARRY_OVER_REASON,
        sd_within=sd_within, effect_size=effect_size,
        effect_size_definition=EFFECT_SIZE_PERIOD_ADJUSTED,
        notes=tuple(_empty_sequence_notes(a_first, b_first, design)),
    )  # fmt: skip


@dataclass(frozen=True)
class RankSumAnalysis(AsDict):
    """Nonparametric period-adjusted comparison (see RANK_SUM_METHOD and
    scoring.statistics.ranks for the convention).

    w_statistic: R's W for the A-first sequence's half period differences; p_value two-sided
    with p_method naming R's method. estimate: Hodges-Lehmann A - B (median of the pairwise
    differences of half period differences, A-first minus B-first); ci_low/ci_high: Moses'
    interval, reported only when it reaches `confidence` (ci_confidence_achieved is its exact
    coverage when the exact distribution was used, else None).
    """

    method: str
    convention: str
    design: CrossoverDesign
    n_a_first: int
    n_b_first: int
    w_statistic: float | None
    p_value: float | None
    p_method: str | None
    ties: bool
    estimate: float | None
    confidence: float
    ci_low: float | None
    ci_high: float | None
    ci_confidence_achieved: float | None
    ci_method: str | None
    notes: tuple[str, ...]


def rank_sum_analyse(
    participants: Iterable[ParticipantBlocks],
    *,
    design: CrossoverDesign,
    confidence: float = 0.95,
) -> RankSumAnalysis:
    """Wilcoxon rank-sum test, Hodges-Lehmann estimate and interval of A - B, adjusted for
    period. Same inputs, exclusions and failure behaviour as two_sequence_analyse."""
    check_confidence(confidence)
    a_first, b_first = _split(participants, design)
    x, y = _half_differences(a_first), _half_differences(b_first)
    notes = _empty_sequence_notes(a_first, b_first, design)
    test = rank_sum_test(x, y) if x and y else None
    estimate = ci_low = ci_high = achieved = ci_method = None
    if test is not None:
        notes.extend(test.notes)
        shift = hodges_lehmann(x, y, confidence=confidence, ties=test.ties)
        notes.extend(shift.notes)
        estimate, ci_method = shift.estimate, shift.ci_method
        achieved = shift.confidence_achieved
        if test.p_value is None:
            notes.append("Hodges-Lehmann interval: no spread, the interval is undefined")
        elif achieved is not None and achieved < confidence:
            notes.append("Hodges-Lehmann interval: too few participants to reach the "
                         "requested confidence, so none is reported (R would give "
                         "[min, max] of the differences with the lower coverage)")  # fmt: skip
        else:
            ci_low, ci_high = shift.ci_low, shift.ci_high
    return RankSumAnalysis(
        method=RANK_SUM_METHOD, convention=R_CONVENTION, design=design,
        n_a_first=len(x), n_b_first=len(y),
        w_statistic=test.statistic if test else None, p_value=test.p_value if test else None,
        p_method=test.method if test else None, ties=bool(test and test.ties),
        estimate=estimate, confidence=confidence, ci_low=ci_low, ci_high=ci_high,
        ci_confidence_achieved=achieved, ci_method=ci_method, notes=tuple(notes),
    )  # fmt: skip
