"""The exported files reproduce the per-arm summary: an independent analysis of
treatment_means and of the long analysis file, read with pandas' defaults and computed with
numpy, scipy and statsmodels, gives every figure of the summary to 1e-9.

The study is the demo (16 participants, unbalanced complete cases per sequence, missed
assessments, participants with one treatment block only) with two withdrawals. The mixed
model is fitted by statsmodels itself; its default fit stops at its optimizer's tolerance
(estimates here within about 1e-5 of the REML optimum), so it is polished from there with BFGS
at a gradient tolerance of 1e-12, which agrees with the summary to 1e-9.
"""

import io
import itertools
import math
import warnings
import zipfile
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

from scoring.summaries import arm_summary
from tests.diary.exports.test_export_service import download

pytestmark = pytest.mark.django_db

TOLERANCE = 1e-9


def close(value, expected) -> bool:
    """Both None (not computable), or equal within TOLERANCE."""
    if value is None or expected is None:
        return value is None and expected is None
    return math.isclose(value, expected, rel_tol=0, abs_tol=TOLERANCE)


def exported(study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """treatment_means and analysis, downloaded together as a zip, read with defaults."""
    statistician = study.memberships.get(role="statistician").user
    content, _ = download(
        statistician, study=study, kinds=("treatment_means", "analysis"), blinded=False
    )
    bundle = zipfile.ZipFile(io.BytesIO(content))
    return tuple(
        pd.read_csv(io.BytesIO(bundle.read(f"{study.code}_{kind}_unblinded.csv")))
        for kind in ("treatment_means", "analysis")
    )


def r_signed_rank_p(d: np.ndarray) -> float:
    """R's wilcox.test(d) p-value with scipy: zeros dropped, exact without ties below 50,
    else (ties or zeros) the normal approximation with tie correction and continuity correction."""
    # The file's means are exact to 1e-20, so a float difference of two equal means of
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


def moses_interval(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float | None]:
    """R's wilcox.test(x, y, conf.int = TRUE) interval without ties: qu = qwilcox(0.025, m, n)
    (at least 1) from the null distribution of W, enumerated here over every assignment of
    ranks; [D(qu), D(mn + 1 - qu)] of the sorted pairwise differences, and its coverage
    1 - 2 P(W <= qu - 1). With ties (R searches iteratively), the normal-approximation rank."""
    m, n = len(x), len(y)
    differences = np.sort(np.subtract.outer(x, y).ravel())
    pooled = np.round(np.concatenate([x, y]), 10)
    if len(np.unique(pooled)) < len(pooled):
        spread = math.sqrt(m * n * (m + n + 1) / 12)
        qu = max(math.ceil(m * n / 2 - 0.5 - stats.norm.ppf(0.975) * spread), 1)
        coverage = None
    else:
        assert math.comb(m + n, m) < 10**6, "enumeration would be too long"
        counts = Counter(
            sum(ranks) - m * (m - 1) // 2 for ranks in itertools.combinations(range(m + n), m)
        )
        total = sum(counts.values())
        cdf = np.cumsum([counts.get(w, 0) for w in range(m * n + 1)]) / total
        qu = max(int(np.argmax(cdf >= 0.025)), 1)
        coverage = 1 - 2 * cdf[qu - 1]
    return differences[qu - 1], differences[m * n - qu], coverage


def describe(values: np.ndarray) -> dict:
    return {
        "n": len(values),
        "mean": values.mean(),
        "sd": values.std(ddof=1) if len(values) > 1 else None,
        "median": np.median(values),
        "q1": np.percentile(values, 25),
        "q3": np.percentile(values, 75),
        "minimum": values.min(),
        "maximum": values.max(),
    }


def assert_described(got: dict, values: np.ndarray, where: str) -> None:
    expected = describe(values)
    assert got["n"] == expected.pop("n"), where
    for name, value in expected.items():
        assert close(got[name], None if value is None else float(value)), (where, name)


def test_the_files_carry_full_precision_counts_and_status(trial):
    means, analysis = exported(trial)
    assert {"participant_status", "randomised_at", "withdrawn_at", "withdrawal_period"} <= set(
        means.columns
    )
    assert set(means.participant_status) == {"active", "withdrawn"}
    summary = arm_summary(study=trial)
    pain = next(o for o in summary.outcomes if o.key == "pain").analysis
    design = pain.design
    rows = means.set_index(["study_id", "treatment"])
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
                assert row.mean_pain == pytest.approx(float(mean), rel=1e-15, abs=1e-15)
    # The means of the analysis file's period values are the treatment means, and their
    # counts the n_ columns.
    values = analysis[analysis.value.notna()]
    for outcome, group in values.groupby("outcome"):
        by = group.groupby(["study_id", "treatment"]).value.agg(["mean", "count"])
        joined = by.join(rows[[f"mean_{outcome}", f"n_{outcome}"]], how="outer")
        present = joined[f"n_{outcome}"] > 0
        assert (joined.loc[present, "count"] == joined.loc[present, f"n_{outcome}"]).all()
        assert np.allclose(joined.loc[present, "mean"], joined.loc[present, f"mean_{outcome}"],
                           rtol=0, atol=1e-12)  # fmt: skip
        assert joined.loc[~present, f"mean_{outcome}"].isna().all()


def test_the_descriptives_are_those_of_the_analysis_file(trial):
    _, analysis = exported(trial)
    summary = arm_summary(study=trial)
    present = analysis[analysis.value.notna()]
    for outcome in summary.outcomes:
        rows = present[present.outcome == outcome.key]
        assert outcome.participants == rows.study_id.nunique(), outcome.key
        for treatment, group in rows.groupby("treatment"):
            assert_described(outcome.overall[treatment], group.value.to_numpy(), outcome.key)
        cells = rows.groupby(["period", "treatment"])
        assert len(cells) == sum(len(by) for by in outcome.per_period.values())
        for (period, treatment), group in cells:
            assert_described(
                outcome.per_period[period][treatment],
                group.value.to_numpy(),
                f"{outcome.key} period {period} {treatment}",
            )


def test_the_crossover_analyses_are_those_of_the_treatment_means(trial):
    means, _ = exported(trial)
    summary = arm_summary(study=trial)
    design = summary.design
    checked = 0
    for outcome in summary.outcomes:
        column = f"mean_{outcome.key}"
        analysis = outcome.analysis
        wide = means.pivot(index=["study_id", "sequence"], columns="treatment", values=column)
        one_only = wide[wide.notna().sum(axis=1) == 1].reset_index()
        assert sorted(e.participant for e in analysis.excluded) == sorted(one_only.study_id)
        wide = wide.dropna().reset_index()
        a, b = wide[design.treatment_a].to_numpy(), wide[design.treatment_b].to_numpy()
        first_a = (wide.sequence == design.sequence_a_first).to_numpy()
        assert analysis.n_complete == len(a)
        assert analysis.n_complete_by_sequence == {
            design.sequence_a_first: int(first_a.sum()),
            design.sequence_b_first: int((~first_a).sum()),
        }

        # The pilot paper's paired comparison.
        paired, d = analysis.paired, a - b
        t = stats.ttest_rel(a, b)
        ci = t.confidence_interval(0.95)
        expected = {
            "mean_a": a.mean(), "mean_b": b.mean(), "mean_difference": d.mean(),
            "sd_difference": d.std(ddof=1), "ci_low": ci.low, "ci_high": ci.high,
            "t_statistic": t.statistic, "t_p_value": t.pvalue,
            "effect_size": d.mean() / d.std(ddof=1),
            "wilcoxon_p_value": r_signed_rank_p(d),
        }  # fmt: skip
        for name, value in expected.items():
            assert close(getattr(paired, name), float(value)), (outcome.key, name)
        assert (paired.n_pairs, paired.df) == (len(a), t.df)
        nonzero = np.round(d, 10)
        nonzero = nonzero[nonzero != 0]
        ranks = stats.rankdata(np.abs(nonzero))
        assert close(paired.wilcoxon_statistic, float(ranks[nonzero > 0].sum())), outcome.key
        assert paired.wilcoxon_zeros_dropped == len(d) - len(nonzero)

        # The primary analysis: pooled t on half period differences (block 1 - block 2) / 2.
        half = np.where(first_a, a - b, b - a) / 2
        x, y = half[first_a], half[~first_a]
        df = len(x) + len(y) - 2
        pooled = (((x - x.mean()) ** 2).sum() + ((y - y.mean()) ** 2).sum()) / df
        se = math.sqrt(pooled * (1 / len(x) + 1 / len(y)))
        two = analysis.two_sequence
        assert (two.n_a_first, two.n_b_first) == (len(x), len(y))
        contrasts = {
            "treatment": (two.treatment, x, y, x.mean() - y.mean()),
            "period": (two.period, x, -y, x.mean() + y.mean()),
        }
        sums = a + b
        carry = (sums[first_a], sums[~first_a])
        contrasts["carry_over"] = (two.carry_over, *carry, carry[0].mean() - carry[1].mean())
        for name, (contrast, first, second, estimate) in contrasts.items():
            test = stats.ttest_ind(first, second, equal_var=True)
            interval = test.confidence_interval(0.95)
            assert contrast.df == test.df == df
            expected = {
                "mean_a_first": first.mean() if name == "carry_over" else x.mean(),
                "mean_b_first": second.mean() if name == "carry_over" else y.mean(),
                "estimate": estimate, "standard_error": estimate / test.statistic,
                "ci_low": interval.low, "ci_high": interval.high,
                "t_statistic": test.statistic, "p_value": test.pvalue,
            }  # fmt: skip
            for field, value in expected.items():
                assert close(getattr(contrast, field), float(value)), (outcome.key, name, field)
        assert close(two.treatment.standard_error, se)
        assert close(two.sd_within, 2 * math.sqrt(pooled))
        assert close(two.effect_size, (x.mean() - y.mean()) / (2 * math.sqrt(pooled)))

        # Rank-sum on the half period differences (R's wilcox.test), Hodges-Lehmann, Moses.
        rank_sum = analysis.rank_sum
        assert close(rank_sum.w_statistic, float(stats.mannwhitneyu(x, y).statistic))
        assert close(rank_sum.p_value, float(r_rank_sum_p(x, y))), outcome.key
        assert close(rank_sum.estimate, float(np.median(np.subtract.outer(x, y))))
        low, high, coverage = moses_interval(x, y)
        if coverage is not None and coverage < 0.95:
            assert rank_sum.ci_low is None and rank_sum.ci_high is None
        else:
            assert close(rank_sum.ci_low, float(low)) and close(rank_sum.ci_high, float(high))
        if coverage is not None:
            assert close(rank_sum.ci_confidence_achieved, coverage)
        checked += 1
    assert checked == 7

    # Holm across the outcomes' period-adjusted treatment p-values.
    keys = [o.key for o in summary.outcomes if o.analysis.two_sequence.treatment.p_value]
    p_values = [summary.holm.p_values[key] for key in keys]
    adjusted = multipletests(p_values, method="holm")[1]
    for key, value in zip(keys, adjusted, strict=True):
        assert close(summary.holm.adjusted[key], float(value)), key


def test_the_mixed_model_is_statsmodels_on_the_analysis_file(trial):
    _, analysis = exported(trial)
    summary = arm_summary(study=trial)
    design = summary.design
    for outcome in summary.outcomes:
        data = analysis[(analysis.outcome == outcome.key) & analysis.value.notna()]
        model = smf.mixedlm(
            f"value ~ C(treatment, Treatment('{design.treatment_b}')) + C(period)",
            data,
            groups=data.study_id,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            default = model.fit(reml=True)
            fit = model.fit(reml=True, start_params=default.params, method="bfgs", gtol=1e-12)
        assert fit.converged, outcome.key
        mixed = outcome.analysis.mixed
        assert mixed.converged and mixed.n_observations == len(data)
        assert mixed.n_participants == data.study_id.nunique()
        treatments = data.groupby("study_id").treatment.nunique()
        assert mixed.n_participants_one_treatment == int((treatments == 1).sum())
        assert mixed.periods == tuple(sorted(data.period.unique()))
        # Model-based SE (lme4, PROC MIXED): [(X' V^-1 X)^-1]_11 at the REML variances.
        x = fit.model.exog
        groups = data.study_id.to_numpy()
        participant, residual = float(fit.cov_re.iloc[0, 0]), float(fit.scale)
        v = residual * np.eye(len(data)) + participant * (groups[:, None] == groups[None, :])
        se = math.sqrt(np.linalg.inv(x.T @ np.linalg.solve(v, x))[1, 1])
        estimate = float(fit.params.iloc[1])
        z = estimate / se
        expected = {
            "estimate": estimate, "standard_error": se, "z_statistic": z,
            "ci_low": estimate - stats.norm.ppf(0.975) * se,
            "ci_high": estimate + stats.norm.ppf(0.975) * se,
            "p_value": 2 * stats.norm.sf(abs(z)),
            "variance_participant": participant, "variance_residual": residual,
        }  # fmt: skip
        for name, value in expected.items():
            assert close(getattr(mixed, name), float(value)), (outcome.key, name)
        # statsmodels' default fit is only as close as its optimizer's tolerance.
        assert default.params.iloc[1] == pytest.approx(estimate, abs=1e-4)
