"""Sensitivity analysis: a linear mixed model over every assessment.

outcome ~ treatment + C(period) + (1 | participant), fitted by REML with statsmodels MixedLM.
Unlike the two-sequence analysis it uses every period value, including participants with one
treatment block only (a withdrawal after the first block): their values inform the period
effects and, through the participant variance, the treatment effect.

The estimate is statsmodels' REML fit; its standard error is the model-based one at the REML
variance estimates, sigma^2 (X' V^-1 X)^-1, as lme4 and SAS PROC MIXED report it; the interval
and p-value are Wald z (normal distribution), as statsmodels gives them, not the Kenward-Roger
or Satterthwaite degrees of freedom of PROC MIXED or lmerTest, so with few participants the
p-value is somewhat smaller than theirs: one reason this is the sensitivity analysis.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from statsmodels.regression.mixed_linear_model import MixedLM

from scoring.statistics._numbers import (
    AsDict,
    Number,
    check_confidence,
    finite_or_none,
    z_quantile,
    z_two_sided_p,
)
from scoring.statistics.design import CrossoverDesign, Observation, observations_check

MIXED_METHOD = (
    "Linear mixed model, REML (statsmodels MixedLM): outcome ~ treatment + C(period) with a "
    "random intercept per participant, over every assessment; model-based standard error, Wald "
    "z interval and test"
)
# BFGS to a gradient norm of 1e-10 puts the REML optimum within about 1e-11 (relative) of the
# exact one (tests compare with a closed form); statsmodels' default 1e-5 leaves ~1e-7.
_TIGHT = {"method": "bfgs", "gtol": 1e-10}
_FAILURE_WARNINGS = ("not positive definite", "covariance is singular", "Singular")
# A participant variance below this share of the residual variance is read as the boundary.
_BOUNDARY = 1e-6


@dataclass(frozen=True)
class MixedModelAnalysis(AsDict):
    """The treatment effect A - B of the mixed model (see the module docstring).

    estimate, standard_error, ci_low/ci_high (Wald, at `confidence`), z_statistic, p_value
    (two-sided); variance_participant and variance_residual are the REML variance components.
    n_participants_one_treatment counts participants with values under one treatment only,
    whom this model uses and the two-sequence analyses cannot. All of estimate ... variance
    are None, with notes, when the model cannot be fitted or did not converge.
    """

    method: str
    design: CrossoverDesign
    n_observations: int
    n_participants: int
    n_participants_one_treatment: int
    periods: tuple[int, ...]
    confidence: float
    estimate: float | None
    standard_error: float | None
    ci_low: float | None
    ci_high: float | None
    z_statistic: float | None
    p_value: float | None
    variance_participant: float | None
    variance_residual: float | None
    converged: bool
    notes: tuple[str, ...]


def _fit(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> tuple[object | None, list[str]]:
    """The fitted result (or None) and what statsmodels warned or raised, as notes."""
    model = MixedLM(y, x, groups=groups, missing="raise")
    notes: list[str] = []
    result = None
    for attempt in (_TIGHT, {}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = model.fit(reml=True, **attempt)
            except (np.linalg.LinAlgError, ValueError) as error:
                return None, [f"mixed model: the fit failed ({error})"]
        messages = [str(w.message) for w in caught if issubclass(w.category, Warning)]
        if result.converged or attempt == {}:
            notes = [f"mixed model: statsmodels warned: {m}" for m in dict.fromkeys(messages)]
            if result.converged and attempt == {}:
                notes.insert(0, "mixed model: the tight BFGS fit did not converge; refitted "
                                "with statsmodels' default optimizers")  # fmt: skip
            break
    return result, notes


def _group_sums(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    sums = np.zeros((int(groups.max()) + 1, *values.shape[1:]))
    np.add.at(sums, groups, values)
    return sums


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Treatment coefficient and residual variance RSS / (n - p) of ordinary least squares."""
    beta = np.linalg.solve(x.T @ x, x.T @ y)
    residual = y - x @ beta
    return float(beta[1]), float(residual @ residual) / (len(y) - x.shape[1])


def _reml_score_at_zero(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> float:
    """Derivative of the profile REML log-likelihood in g = participant / residual variance,
    at g = 0: -(n - tr((X'X)^-1 X'JX) - (n - p) r'Jr / r'r) / 2 with OLS residuals r and J the
    same-participant indicator. Not positive: the REML optimum is the boundary g = 0."""
    n, p = x.shape
    beta = np.linalg.solve(x.T @ x, x.T @ y)
    residual = y - x @ beta
    sums_x, sums_r = _group_sums(x, groups), _group_sums(residual, groups)
    trace = float(np.trace(np.linalg.solve(x.T @ x, sums_x.T @ sums_x)))
    share = float(sums_r @ sums_r) / float(residual @ residual)
    return -0.5 * (n - trace - (n - p) * share)


def _within_residual_share(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> float:
    """Residual sum of squares of y on participant + X, over the total sum of squares: 0 when
    participant, treatment and period fit the values exactly (REML then has no optimum)."""
    dummies = np.zeros((len(y), int(groups.max()) + 1))
    dummies[np.arange(len(y)), groups] = 1.0
    design = np.column_stack([dummies, x[:, 1:]])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ beta
    centred = y - y.mean()
    return float(residual @ residual) / float(centred @ centred)


def _model_based_se(
    x: np.ndarray, groups: np.ndarray, variance_participant: float, variance_residual: float
) -> float:
    """Standard error of the treatment coefficient from sigma^2 (X' V^-1 X)^-1 at the REML
    variance estimates: what lme4's vcov() and SAS PROC MIXED report. statsmodels' own bse
    inverts the observed information including the variance parameters, which differs from
    it by up to a few tenths of a percent when participants have different numbers of values.
    With V_i = s2 I + t2 J, V_i^-1 = (I - c_i J) / s2 with c_i = t2 / (s2 + n_i t2)."""
    sizes = np.bincount(groups).astype(float)
    sums = _group_sums(x, groups)
    shrink = variance_participant / (variance_residual + sizes * variance_participant)
    information = (x.T @ x - (sums.T * shrink) @ sums) / variance_residual
    return math.sqrt(float(np.linalg.inv(information)[1, 1]))


def mixed_model_fit(
    observations: Iterable[Observation | tuple[str, str, int, str, Number]],
    *,
    design: CrossoverDesign,
    confidence: float = 0.95,
) -> MixedModelAnalysis:
    """Fit the sensitivity mixed model to present period values (see observations_check for
    what is rejected with ValueError). Too few data, treatment confounded with period (only one
    sequence has data), no variation, a singular fit or no convergence give None fields with
    notes (statsmodels' own warnings included), never NaN."""
    check_confidence(confidence)
    rows = observations_check(observations, design=design)
    participants = sorted({row.participant for row, _, _ in rows})
    treatments_of: dict[str, set[str]] = {}
    for row, _, _ in rows:
        treatments_of.setdefault(row.participant, set()).add(row.treatment)
    periods = tuple(sorted({row.period for row, _, _ in rows}))
    base = {
        "method": MIXED_METHOD, "design": design, "n_observations": len(rows),
        "n_participants": len(participants), "periods": periods, "confidence": confidence,
        "n_participants_one_treatment": sum(1 for t in treatments_of.values() if len(t) == 1),
    }  # fmt: skip
    empty = dict.fromkeys(
        ("estimate", "standard_error", "ci_low", "ci_high", "z_statistic", "p_value",
         "variance_participant", "variance_residual"),
    )  # fmt: skip

    def failed(*notes: str) -> MixedModelAnalysis:
        return MixedModelAnalysis(**base, **empty, converged=False, notes=notes)  # type: ignore[arg-type]

    treatments = {row.treatment for row, _, _ in rows}
    if len(treatments) < 2:
        return failed("mixed model: needs values under both treatments")
    if len(participants) < 2:
        return failed("mixed model: needs at least 2 participants")
    if len({value for _, _, value in rows}) == 1:
        return failed("mixed model: every value is the same; the model is undefined")
    index = {p: i for i, p in enumerate(participants)}
    y = np.array([float(value) for _, _, value in rows])
    groups = np.array([index[row.participant] for row, _, _ in rows])
    treated = np.array([1.0 if row.treatment == design.treatment_a else 0.0 for row, _, _ in rows])
    period_columns = [
        np.array([1.0 if row.period == p else 0.0 for row, _, _ in rows]) for p in periods[1:]
    ]
    x = np.column_stack([np.ones(len(rows)), treated, *period_columns])
    if len(rows) <= x.shape[1] + 1 or np.linalg.matrix_rank(x) < x.shape[1]:
        return failed("mixed model: treatment cannot be separated from period (too few values, "
                      "or only one sequence has data in both blocks' periods)")  # fmt: skip
    if _within_residual_share(y, x, groups) <= 1e-20:
        return failed("mixed model: the values are fitted exactly by participant, treatment "
                      "and period (no residual variation); inference is undefined")  # fmt: skip
    result, notes = _fit(y, x, groups)
    if result is None:
        return failed(*notes)
    variance_participant = float(result.cov_re[0, 0])  # type: ignore[attr-defined]
    variance_residual = float(result.scale)  # type: ignore[attr-defined]
    interior = (
        result.converged  # type: ignore[attr-defined]
        and finite_or_none(variance_participant, variance_residual)
        and variance_participant > _BOUNDARY * variance_residual
    )
    if interior and any(marker in note for note in notes for marker in _FAILURE_WARNINGS):
        return failed("mixed model: singular fit (the optimum is not a proper maximum); no "
                      "estimate is reported", *notes)  # fmt: skip
    if interior:
        estimate = float(result.fe_params[1])  # type: ignore[attr-defined]
    elif _reml_score_at_zero(y, x, groups) <= 0:
        # The REML optimum is at zero participant variance, where gradient optimizers in
        # statsmodels' square-root parametrization stall; there the model is exactly OLS.
        estimate, variance_residual = _ols(y, x)
        variance_participant = 0.0
        notes = [
            "mixed model: participant variance estimated at 0 (the REML score is negative "
            "there, so the optimum is on the boundary); the model is then ordinary least "
            "squares on treatment and period, reported as such",
            *(f"{note} (at the boundary)" for note in notes),
        ]
    else:
        return failed("mixed model: REML did not converge; no estimate is reported", *notes)
    se = _model_based_se(x, groups, variance_participant, variance_residual)
    z = estimate / se
    half = z_quantile(confidence) * se
    return MixedModelAnalysis(
        **base, estimate=estimate, standard_error=se, ci_low=estimate - half,  # type: ignore[arg-type]
        ci_high=estimate + half, z_statistic=z, p_value=z_two_sided_p(z),
        variance_participant=variance_participant, variance_residual=variance_residual,
        converged=True, notes=tuple(notes),
    )  # fmt: skip
