"""The mixed-model sensitivity analysis against two independent computations: with complete
data, the OLS with participant fixed effects (the treatment contrast is within-participant);
with withdrawals and missing periods, REML written out here (root of the profile score in the
variance ratio, then generalized least squares). And fits that cannot or do not work."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import optimize, stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

import scoring.statistics.mixed as mixed_module
from scoring.statistics import MixedModelAnalysis, mixed_model_fit
from tests.scoring.statistics_data import DESIGN, assert_json_safe, pilot_like_observations

TOLERANCE = {"rel": 1e-9, "abs": 1e-12}


def frame_of(rows: list) -> pd.DataFrame:
    return pd.DataFrame(
        [{"participant": p, "period": period, "a": int(t == "A"), "y": float(v)}
         for p, _, period, t, v in rows]
    )  # fmt: skip


def reml_by_hand(rows: list) -> dict[str, float]:
    """REML for y = X b + participant + e: the variance ratio g = s_b^2 / s^2 solves the
    profile score equation (its root, found to machine precision, rather than a maximum found
    by an optimizer, which is only accurate to about sqrt(eps)); then GLS at that ratio."""
    frame = frame_of(rows)
    periods = sorted(frame.period.unique())
    x = np.column_stack([np.ones(len(frame)), frame.a] +
                        [(frame.period == p).astype(float) for p in periods[1:]])  # fmt: skip
    y = frame.y.to_numpy()
    same = (frame.participant.to_numpy()[:, None] == frame.participant.to_numpy()[None, :])
    j = same.astype(float)
    n, k = x.shape

    def pieces(ratio: float) -> tuple:
        h_inv = np.linalg.inv(np.eye(n) + ratio * j)
        a = x.T @ h_inv @ x
        beta = np.linalg.solve(a, x.T @ h_inv @ y)
        r = y - x @ beta
        return h_inv, a, beta, r, r @ h_inv @ r

    def score(ratio: float) -> float:
        h_inv, a, _, r, q = pieces(ratio)
        hjh = h_inv @ j @ h_inv
        return -0.5 * (np.trace(h_inv @ j) - np.trace(np.linalg.solve(a, x.T @ hjh @ x))
                       - (n - k) * (r @ hjh @ r) / q)  # fmt: skip

    ratio = optimize.brentq(score, 1e-8, 1e3, xtol=1e-15, rtol=1e-15)
    _, a, beta, _, q = pieces(ratio)
    scale = q / (n - k)
    return {"estimate": beta[1], "se": float(np.sqrt(scale * np.linalg.inv(a)[1, 1])),
            "residual": scale, "participant": ratio * scale}  # fmt: skip


def test_complete_data_match_the_ols_with_participant_fixed_effects() -> None:
    rows = pilot_like_observations(seed=3, participants=16)
    result = mixed_model_fit(rows, design=DESIGN)
    fixed = smf.ols("y ~ C(participant) + C(period) + a", data=frame_of(rows)).fit()
    assert result.converged and result.notes == ()
    assert result.estimate == pytest.approx(fixed.params["a"], **TOLERANCE)
    assert result.standard_error == pytest.approx(fixed.bse["a"], **TOLERANCE)
    assert result.variance_residual == pytest.approx(fixed.scale, **TOLERANCE)
    assert (result.n_observations, result.n_participants, result.periods) == (
        96, 16, (1, 2, 3, 4, 5, 6),
    )  # fmt: skip


def test_withdrawals_and_missing_periods_match_reml_written_out() -> None:
    rows = pilot_like_observations(
        seed=8, participants=17, withdrawn=(2, 7, 10), missing=((4, 2), (9, 5), (11, 1)),
        sequence_of=lambda i: "AP" if i % 3 else "PA",
    )  # fmt: skip
    result = mixed_model_fit(rows, design=DESIGN)
    expected = reml_by_hand(rows)
    assert result.converged
    assert result.n_participants_one_treatment == 3
    assert result.estimate == pytest.approx(expected["estimate"], **TOLERANCE)
    assert result.standard_error == pytest.approx(expected["se"], **TOLERANCE)
    assert result.variance_residual == pytest.approx(expected["residual"], rel=1e-8)
    assert result.variance_participant == pytest.approx(expected["participant"], rel=1e-8)


def test_participants_with_one_treatment_are_used() -> None:
    rows = pilot_like_observations(seed=8, participants=12, withdrawn=(1, 4))
    with_them = mixed_model_fit(rows, design=DESIGN)
    without = mixed_model_fit([r for r in rows if r[0] not in ("S001", "S004")], design=DESIGN)
    assert with_them.n_participants == 12 and without.n_participants == 10
    assert with_them.n_observations == without.n_observations + 6
    assert with_them.estimate != pytest.approx(without.estimate, rel=1e-6)


def test_interval_and_p_value_are_wald_z() -> None:
    result = mixed_model_fit(pilot_like_observations(seed=5), design=DESIGN, confidence=0.9)
    z = result.estimate / result.standard_error
    assert result.z_statistic == pytest.approx(z, **TOLERANCE)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), **TOLERANCE)
    half = stats.norm.ppf(0.95) * result.standard_error
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (result.estimate - half, result.estimate + half), **TOLERANCE
    )


def test_no_participant_variance_is_reported_as_a_boundary_fit_close_to_ols() -> None:
    rng = np.random.default_rng(2)
    rows = [
        (f"S{i}", "AP" if i % 2 else "PA", period,
         ("A" if period <= 3 else "P") if i % 2 else ("P" if period <= 3 else "A"),
         float(rng.normal(0, 1)))
        for i in range(10) for period in range(1, 7)
    ]  # fmt: skip
    result = mixed_model_fit(rows, design=DESIGN)
    ols = smf.ols("y ~ C(period) + a", data=frame_of(rows)).fit()
    assert result.converged and result.variance_participant == 0
    assert any("boundary" in note for note in result.notes)
    assert result.estimate == pytest.approx(ols.params["a"], **TOLERANCE)
    assert result.standard_error == pytest.approx(ols.bse["a"], **TOLERANCE)
    assert result.variance_residual == pytest.approx(ols.scale, **TOLERANCE)


# Bad input: None with notes, never NaN


def assert_failed(result: MixedModelAnalysis, fragment: str) -> None:
    assert result.estimate is None and result.p_value is None and result.ci_low is None
    assert not result.converged
    assert any(fragment in note for note in result.notes), result.notes
    assert_json_safe(result.as_dict())


def test_one_sequence_only_cannot_separate_treatment_from_period() -> None:
    rows = [r for r in pilot_like_observations(seed=1) if r[1] == "AP"]
    assert_failed(mixed_model_fit(rows, design=DESIGN), "cannot be separated from period")


def test_constant_outcome_is_undefined() -> None:
    rows = [(p, s, period, t, 50) for p, s, period, t, _ in pilot_like_observations(seed=1)]
    assert_failed(mixed_model_fit(rows, design=DESIGN), "every value is the same")


def test_one_treatment_or_one_participant_is_too_little() -> None:
    rows = pilot_like_observations(seed=1)
    assert_failed(mixed_model_fit([r for r in rows if r[3] == "A"], design=DESIGN),
                  "both treatments")  # fmt: skip
    assert_failed(mixed_model_fit([r for r in rows if r[0] == "S000"], design=DESIGN),
                  "at least 2 participants")  # fmt: skip
    assert_failed(mixed_model_fit([], design=DESIGN), "both treatments")


def test_a_perfect_fit_does_not_converge_and_says_so() -> None:
    # Participant level + treatment effect, no residual at all: REML has no interior optimum.
    rows = [
        (f"S{i}", "AP" if i % 2 else "PA", period, t, 10 * i + 5 * (t == "A"))
        for i in range(8) for period in range(1, 7)
        for t in [("A" if period <= 3 else "P") if i % 2 else ("P" if period <= 3 else "A")]
    ]  # fmt: skip
    assert_failed(mixed_model_fit(rows, design=DESIGN), "no residual variation")


def test_a_non_converging_fit_is_caught_with_statsmodels_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = mixed_module.MixedLM.fit

    def stubborn(self: object, *args: object, **kwargs: object) -> object:
        result = original(self, *args, **kwargs)
        warnings.warn("Gradient optimization failed", ConvergenceWarning, stacklevel=2)
        result.converged = False
        return result

    monkeypatch.setattr(mixed_module.MixedLM, "fit", stubborn)
    result = mixed_model_fit(pilot_like_observations(seed=1), design=DESIGN)
    assert_failed(result, "did not converge")
    assert any("Gradient optimization failed" in n for n in result.notes)


def test_a_singular_fit_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def singular(self: object, *args: object, **kwargs: object) -> object:
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(mixed_module.MixedLM, "fit", singular)
    assert_failed(mixed_model_fit(pilot_like_observations(seed=1), design=DESIGN),
                  "Singular matrix")  # fmt: skip
