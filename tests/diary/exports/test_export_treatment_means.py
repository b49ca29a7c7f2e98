"""The treatment-means file reproduces the per-arm summary: an independent analysis of the
exported CSV with scipy gives the summary's paired and two-sequence figures to 1e-9."""

import io
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from scipy import stats

from diary.models import Study
from scoring.services import scoring_sweep
from scoring.summaries import arm_summary
from tests.diary.exports.test_export_service import download

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    cache.clear()
    with override_settings(DEBUG=True):
        call_command("demo_study", stdout=StringIO())
    scoring_sweep()
    return Study.objects.get(code="ENDO-ANK")


def exported(study) -> pd.DataFrame:
    statistician = get_user_model().objects.get(username="statistician")
    content, _ = download(statistician, study=study, kinds=("treatment_means",), blinded=False)
    return pd.read_csv(io.BytesIO(content), dtype={"study_id": str, "site": str})


def r_signed_rank_p(d: np.ndarray) -> float:
    """R's wilcox.test(d) p-value with scipy: zeros dropped, exact without ties below 50,
    else (ties or zeros) the normal approximation with tie correction and continuity correction."""
    # The file's means are exact to ~1e-15, so a float difference of two equal means of
    # thirds can differ in its last bits: rounded to 10 decimals, ties read as ties again.
    d = np.round(d, 10)
    zeros = bool((d == 0).any())
    d = d[d != 0]
    ties = len(np.unique(np.abs(d))) < len(d)
    method = "exact" if len(d) < 50 and not ties and not zeros else "approx"
    return stats.wilcoxon(d, zero_method="wilcox", correction=True, method=method).pvalue


def r_rank_sum_p(x: np.ndarray, y: np.ndarray) -> float:
    """R's wilcox.test(x, y) p-value with scipy: exact without ties when both n < 50, else
    the normal approximation with tie correction and continuity correction."""
    x, y = np.round(x, 10), np.round(y, 10)
    pooled = np.concatenate([x, y])
    ties = len(np.unique(pooled)) < len(pooled)
    method = "exact" if len(x) < 50 and len(y) < 50 and not ties else "asymptotic"
    return stats.mannwhitneyu(x, y, use_continuity=True, method=method).pvalue


def test_means_are_full_precision_with_counts_and_status(demo):
    frame = exported(demo)
    assert {"participant_status", "withdrawn_at", "n_pain", "n_cycle_length_days"} <= set(
        frame.columns
    )
    assert set(frame.participant_status) <= {"invited", "active", "withdrawn", "completed"}
    summary = arm_summary(study=demo)
    pain = next(o for o in summary.outcomes if o.key == "pain").analysis
    design = pain.design
    rows = frame.set_index(["study_id", "treatment"])
    for block in pain.blocks:
        a_first = block.sequence == design.sequence_a_first
        first, second = (block.first, block.n_first), (block.second, block.n_second)
        by_treatment = {
            design.treatment_a: first if a_first else second,
            design.treatment_b: second if a_first else first,
        }
        for treatment, (mean, n) in by_treatment.items():
            row = rows.loc[(block.participant, treatment)]
            assert row.n_pain == n
            if mean is not None:
                assert row.mean_pain == pytest.approx(float(mean), rel=1e-14, abs=1e-14)
    # A mean of thirds is written with far more than 12 significant digits.
    text = frame.mean_pain.dropna().map(repr)
    assert any(len(t.replace(".", "").lstrip("0")) >= 15 for t in text)


def test_an_analysis_of_the_file_reproduces_the_summary(demo):
    frame = exported(demo)
    summary = arm_summary(study=demo)
    design = summary.design
    checked = 0
    for outcome in summary.outcomes:
        column = f"mean_{outcome.key}"
        wide = frame.pivot(index=["study_id", "sequence"], columns="treatment", values=column)
        wide = wide.dropna().reset_index()
        a, b = wide[design.treatment_a].to_numpy(), wide[design.treatment_b].to_numpy()
        paired = outcome.analysis.paired
        assert paired.n_pairs == len(a)
        assert paired.mean_difference == pytest.approx((a - b).mean(), abs=1e-9)
        t = stats.ttest_rel(a, b)
        assert paired.t_statistic == pytest.approx(t.statistic, abs=1e-9)
        assert paired.t_p_value == pytest.approx(t.pvalue, abs=1e-9)
        ci = t.confidence_interval(0.95)
        assert (paired.ci_low, paired.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
        assert paired.wilcoxon_p_value == pytest.approx(r_signed_rank_p(a - b), abs=1e-9)
        assert paired.effect_size == pytest.approx((a - b).mean() / (a - b).std(ddof=1), abs=1e-9)
        # The primary analysis: pooled t on half period differences (block 1 - block 2) / 2.
        first_a = (wide.sequence == design.sequence_a_first).to_numpy()
        half = np.where(first_a, a - b, b - a) / 2
        two = stats.ttest_ind(half[first_a], half[~first_a], equal_var=True)
        effect = outcome.analysis.two_sequence.treatment
        assert effect.t_statistic == pytest.approx(two.statistic, abs=1e-9)
        assert effect.p_value == pytest.approx(two.pvalue, abs=1e-9)
        assert effect.df == two.df
        x, y = half[first_a], half[~first_a]
        pooled = (((x - x.mean()) ** 2).sum() + ((y - y.mean()) ** 2).sum()) / (len(half) - 2)
        effect_size = (x.mean() - y.mean()) / (2 * np.sqrt(pooled))
        assert outcome.analysis.two_sequence.effect_size == pytest.approx(effect_size, abs=1e-9)
        ci = two.confidence_interval(0.95)
        assert (effect.ci_low, effect.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
        # Period: mean d(A first) + mean d(B first), the same pooled t as d(A first) vs -d.
        period = outcome.analysis.two_sequence.period
        test = stats.ttest_ind(half[first_a], -half[~first_a], equal_var=True)
        assert period.t_statistic == pytest.approx(test.statistic, abs=1e-9)
        assert period.p_value == pytest.approx(test.pvalue, abs=1e-9)
        # Carry-over (descriptive): participant sums between sequences.
        sums = a + b
        test = stats.ttest_ind(sums[first_a], sums[~first_a], equal_var=True)
        carry = outcome.analysis.two_sequence.carry_over
        assert carry.p_value == pytest.approx(test.pvalue, abs=1e-9)
        # Rank-sum on the half period differences, R's wilcox.test convention.
        rank_sum = outcome.analysis.rank_sum
        assert rank_sum.p_value == pytest.approx(
            r_rank_sum_p(half[first_a], half[~first_a]), abs=1e-9
        )
        checked += 1
    assert checked == 7
