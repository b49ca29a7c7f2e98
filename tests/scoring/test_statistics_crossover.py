"""The period-adjusted two-sequence analysis and its rank-sum counterpart, validated against
Senn's published crossover, statsmodels OLS of the period-difference model, an OLS with
participant fixed effects, and scipy, to 1e-9; with unbalanced sequences, withdrawals and
missing periods; and what happens with too few participants or no variation."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from scoring.statistics import (
    CARRY_OVER_REASON,
    CrossoverDesign,
    ParticipantBlocks,
    block_means,
    rank_sum_analyse,
    two_sequence_analyse,
)
from tests.scoring.statistics_data import (
    DESIGN,
    assert_json_safe,
    block_means_by_hand,
    pilot_like_observations,
    senn_observations,
)

TOLERANCE = {"rel": 1e-9, "abs": 1e-12}


def half_differences(rows: list) -> pd.DataFrame:
    """Per complete participant: sequence, half period difference and sum, from numpy means."""
    table = [
        {"participant": p, "sequence": s, "d": (first - second) / 2, "total": first + second}
        for p, (s, first, second) in block_means_by_hand(rows).items()
        if first is not None and second is not None
    ]
    return pd.DataFrame(table)


def check_against_ols(rows: list) -> None:
    """Every contrast of two_sequence_analyse against statsmodels OLS of d on the sequence."""
    frame = half_differences(rows)
    result = two_sequence_analyse(block_means(rows, design=DESIGN), design=DESIGN)
    # y_diff ~ sequence: the coefficient of PA (reference AP) is mean d(PA) - mean d(AP) = -tau.
    fit = smf.ols("d ~ C(sequence, Treatment('AP'))", data=frame).fit()
    slope = fit.params.index[1]
    treatment = result.treatment
    assert treatment.estimate == pytest.approx(-fit.params[slope], **TOLERANCE)
    assert treatment.standard_error == pytest.approx(fit.bse[slope], **TOLERANCE)
    assert treatment.t_statistic == pytest.approx(-fit.tvalues[slope], **TOLERANCE)
    assert treatment.p_value == pytest.approx(fit.pvalues[slope], **TOLERANCE)
    assert treatment.df == fit.df_resid
    low, high = fit.conf_int(0.05).loc[slope]
    assert (treatment.ci_low, treatment.ci_high) == pytest.approx((-high, -low), **TOLERANCE)
    # Period (block 1 - block 2) = mean d(AP) + mean d(PA): a contrast of the cell means.
    cells = smf.ols("d ~ 0 + C(sequence)", data=frame).fit()
    period = cells.t_test([1, 1])
    assert result.period.estimate == pytest.approx(float(period.effect[0]), **TOLERANCE)
    assert result.period.standard_error == pytest.approx(float(period.sd[0, 0]), **TOLERANCE)
    assert result.period.p_value == pytest.approx(float(period.pvalue), **TOLERANCE)
    period_low, period_high = period.conf_int(0.05)[0]
    assert (result.period.ci_low, result.period.ci_high) == pytest.approx(
        (period_low, period_high), **TOLERANCE
    )
    # Carry-over: pooled two-sample t on participant sums.
    sums = [frame.loc[frame.sequence == s, "total"] for s in ("AP", "PA")]
    carry = stats.ttest_ind(*sums)
    assert result.carry_over.estimate == pytest.approx(sums[0].mean() - sums[1].mean(),
                                                       **TOLERANCE)  # fmt: skip
    assert result.carry_over.p_value == pytest.approx(carry.pvalue, **TOLERANCE)
    assert result.carry_over.t_statistic == pytest.approx(carry.statistic, **TOLERANCE)
    # Effect size: tau over the pooled SD of A - B differences (= 2 d within sequences).
    pooled = np.sqrt(fit.scale)
    assert result.sd_within == pytest.approx(2 * pooled, **TOLERANCE)
    assert result.effect_size == pytest.approx(-fit.params[slope] / (2 * pooled), **TOLERANCE)


def test_senn_formoterol_salbutamol_example_reproduces_the_published_estimate() -> None:
    rows = senn_observations()
    result = two_sequence_analyse(block_means(rows, design=DESIGN), design=DESIGN)
    assert (result.n_a_first, result.n_b_first) == (7, 6)
    assert round(result.treatment.estimate, 1) == 46.6
    # Exactly: mean d(for/sal) = 215/14, mean d(sal/for) = -375/12.
    assert result.treatment.estimate == float(Fraction(215, 14) + Fraction(375, 12))
    assert result.period.estimate == float(Fraction(215, 14) - Fraction(375, 12))
    assert result.treatment.df == 11
    check_against_ols(rows)


def test_treatment_effect_equals_the_ols_with_participant_fixed_effects() -> None:
    # A different route: block means y ~ participant + block + treatment, ordinary least
    # squares. With two blocks per participant its treatment t-test is the two-sequence one.
    rows = pilot_like_observations(seed=4, participants=13)
    result = two_sequence_analyse(block_means(rows, design=DESIGN), design=DESIGN)
    long = []
    for participant, (sequence, first, second) in block_means_by_hand(rows).items():
        first_treatment = "A" if sequence == "AP" else "P"
        second_treatment = "P" if sequence == "AP" else "A"
        long += [
            {"participant": participant, "block": 1, "a": int(first_treatment == "A"),
             "y": first},
            {"participant": participant, "block": 2, "a": int(second_treatment == "A"),
             "y": second},
        ]  # fmt: skip
    fit = smf.ols("y ~ C(participant) + C(block) + a", data=pd.DataFrame(long)).fit()
    assert result.treatment.estimate == pytest.approx(fit.params["a"], **TOLERANCE)
    assert result.treatment.standard_error == pytest.approx(fit.bse["a"], **TOLERANCE)
    assert result.treatment.p_value == pytest.approx(fit.pvalues["a"], **TOLERANCE)
    # C(block)[T.2] is block 2 - block 1.
    assert result.period.estimate == pytest.approx(-fit.params["C(block)[T.2]"], **TOLERANCE)


def test_unbalanced_sequences_withdrawals_and_missing_periods() -> None:
    rows = pilot_like_observations(
        seed=11, participants=17, withdrawn=(3, 8),
        missing=((0, 2), (5, 6), (6, 1), (6, 2), (12, 4)),
        sequence_of=lambda i: "AP" if i % 3 else "PA",
    )  # fmt: skip
    blocks = block_means(rows, design=DESIGN)
    by_hand = block_means_by_hand(rows)
    for row in blocks:
        _, first, second = by_hand[row.participant]
        assert (row.first is None, row.second is None) == (first is None, second is None)
        if row.complete:
            assert float(row.first) == pytest.approx(first, rel=1e-15)
            assert float(row.second) == pytest.approx(second, rel=1e-15)
    assert {r.participant for r in blocks if not r.complete} == {"S003", "S008"}
    assert next(r for r in blocks if r.participant == "S006").n_first == 1
    result = two_sequence_analyse(blocks, design=DESIGN)
    complete = [r for r in blocks if r.complete]
    assert result.n_a_first + result.n_b_first == len(complete) == 15
    assert result.n_a_first != result.n_b_first
    check_against_ols(rows)


def test_carry_over_is_labelled_descriptive_with_its_reason() -> None:
    result = two_sequence_analyse(block_means(senn_observations(), design=DESIGN),
                                  design=DESIGN)  # fmt: skip
    assert result.carry_over_descriptive_only
    assert result.carry_over_reason == CARRY_OVER_REASON
    assert "not a gate" in CARRY_OVER_REASON and "Freeman" in CARRY_OVER_REASON
    assert "descriptive only" in result.carry_over.label


def test_difference_is_a_minus_b_and_the_design_decides_which_is_a() -> None:
    rows = senn_observations()
    flipped = CrossoverDesign("P", "A", "PA", "AP")
    original = two_sequence_analyse(block_means(rows, design=DESIGN), design=DESIGN)
    swapped = two_sequence_analyse(block_means(rows, design=flipped), design=flipped)
    assert swapped.treatment.estimate == pytest.approx(-original.treatment.estimate)
    assert swapped.period.estimate == pytest.approx(original.period.estimate)
    assert swapped.treatment.p_value == pytest.approx(original.treatment.p_value)


# Rank-sum analysis


def test_rank_sum_analysis_matches_scipy_and_the_median_of_pairwise_differences() -> None:
    rows = pilot_like_observations(seed=21, participants=14, decimals=3)
    frame = half_differences(rows)
    x = frame.loc[frame.sequence == "AP", "d"].to_numpy()
    y = frame.loc[frame.sequence == "PA", "d"].to_numpy()
    result = rank_sum_analyse(block_means(rows, design=DESIGN), design=DESIGN)
    assert not result.ties and result.p_method == "Wilcoxon rank sum exact test"
    scipy = stats.mannwhitneyu(x, y, method="exact")
    assert result.w_statistic == scipy.statistic
    assert result.p_value == pytest.approx(scipy.pvalue, **TOLERANCE)
    assert result.estimate == pytest.approx(float(np.median(np.subtract.outer(x, y))),
                                            **TOLERANCE)  # fmt: skip
    assert result.ci_low < result.estimate < result.ci_high
    assert result.ci_confidence_achieved >= 0.95
    assert "R wilcox.test" in result.convention


def test_rank_sum_on_senn_data_has_ties_and_uses_the_corrected_normal_approximation() -> None:
    result = rank_sum_analyse(block_means(senn_observations(), design=DESIGN), design=DESIGN)
    frame = half_differences(senn_observations())
    x, y = (frame.loc[frame.sequence == s, "d"].to_numpy() for s in ("AP", "PA"))
    assert result.ties and "continuity correction" in result.p_method
    scipy = stats.mannwhitneyu(x, y, use_continuity=True, method="asymptotic")
    assert result.p_value == pytest.approx(scipy.pvalue, **TOLERANCE)
    assert result.estimate == pytest.approx(float(np.median(np.subtract.outer(x, y))))


# Bad input


def blocks_of(*rows: tuple[str, str, float | None, float | None]) -> list[ParticipantBlocks]:
    return [
        ParticipantBlocks(p, s, None if a is None else Fraction(a),
                          None if b is None else Fraction(b), int(a is not None),
                          int(b is not None))
        for p, s, a, b in rows
    ]  # fmt: skip


def test_a_sequence_with_nobody_gives_none_with_notes_and_json_safe_output() -> None:
    blocks = blocks_of(("1", "AP", 40, 50), ("2", "AP", 42, 47), ("3", "PA", None, 30))
    result = two_sequence_analyse(blocks, design=DESIGN)
    assert result.treatment.estimate is None and result.period.p_value is None
    assert any("sequence PA has no participant" in n for n in result.notes)
    assert result.treatment.notes and result.effect_size is None
    rank_sum = rank_sum_analyse(blocks, design=DESIGN)
    assert rank_sum.p_value is None and rank_sum.estimate is None and rank_sum.notes
    assert_json_safe(result.as_dict())
    assert_json_safe(rank_sum.as_dict())


def test_two_participants_give_an_estimate_but_no_test() -> None:
    result = two_sequence_analyse(blocks_of(("1", "AP", 40, 50), ("2", "PA", 42, 47)),
                                  design=DESIGN)  # fmt: skip
    assert result.treatment.estimate == pytest.approx((-10 / 2) - (-5 / 2))
    assert result.treatment.standard_error is None and result.treatment.df is None
    assert any("at least 3" in n for n in result.treatment.notes)
    assert_json_safe(result.as_dict())


def test_identical_differences_give_no_t_and_no_rank_test() -> None:
    blocks = blocks_of(("1", "AP", 40, 40), ("2", "AP", 50, 50), ("3", "PA", 30, 30),
                       ("4", "PA", 20, 20))  # fmt: skip
    result = two_sequence_analyse(blocks, design=DESIGN)
    assert result.treatment.estimate == 0 and result.treatment.t_statistic is None
    assert result.treatment.ci_low is None and result.effect_size is None
    assert any("pooled SD 0" in n for n in result.treatment.notes)
    rank_sum = rank_sum_analyse(blocks, design=DESIGN)
    assert rank_sum.p_value is None and rank_sum.ci_low is None and rank_sum.estimate == 0
    assert_json_safe(result.as_dict())
    assert_json_safe(rank_sum.as_dict())


def test_too_few_participants_for_the_requested_interval_reports_none() -> None:
    blocks = blocks_of(("1", "AP", 40, 50), ("2", "PA", 42, 47), ("3", "PA", 30, 36))
    rank_sum = rank_sum_analyse(blocks, design=DESIGN)
    assert rank_sum.p_value == pytest.approx(2 / 3) and rank_sum.estimate == -2.25
    assert rank_sum.ci_low is None and rank_sum.ci_confidence_achieved < 0.95
    assert any("requested confidence" in n for n in rank_sum.notes)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("1", "XY", 1, "A", 3)], "unknown sequence"),
        ([("1", "AP", 1, "B", 3)], "unknown treatment"),
        ([("1", "AP", 1, "A", 3), ("1", "PA", 4, "A", 3)], "two sequences"),
        ([("1", "AP", 1, "A", 3), ("1", "AP", 1, "A", 4)], "two values in period 1"),
        ([("1", "AP", 4, "A", 3), ("2", "AP", 2, "P", 4)], "blocks must not overlap"),
        ([("1", "AP", 0, "A", 3)], "period"),
    ],
    ids=["sequence", "treatment", "two sequences", "duplicate", "overlap", "period 0"],
)
def test_inconsistent_observations_are_rejected(rows: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        block_means(rows, design=DESIGN)


def test_a_missing_value_is_rejected_not_read_as_zero() -> None:
    with pytest.raises(TypeError, match="missing"):
        block_means([("1", "AP", 1, "A", None)], design=DESIGN)
