"""Sensitivity analysis: a linear mixed model over every assessment.

outcome ~ treatment + C(period) + (1 | participant), fitted by REML with statsmodels MixedLM.
Unlike the two-sequence analysis it uses every period value, including participants with one
treatment block only (a withdrawal after the first block): their values inform the period
effects and, through the participant variance, the treatment effect.

statsmodels fits the model; its REML optimum, found to the optimizer's tolerance, is then made
exact by solving the REML score equation in the one variance ratio (scoring.statistics._reml),
and the coefficients are the GLS solution there. The standard error is the model-based one,
sigma^2 (X' V^-1 X)^-1, as lme4 and SAS PROC MIXED report it (statsmodels' own inverts the
observed information including the variance parameters, which differs by up to a few tenths of
a percent when participants have different numbers of values); the interval
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
from scoring.statistics._reml import RandomIntercept
from scoring.statistics.design import CrossoverDesign, Observation, observations_check

MIXED_METHOD = (
    "Linear mixed model, REML (statsmodels MixedLM): outcome ~ treatment + C(period) with a "
    "random intercept per participant, over every assessment; model-based standard error, Wald "
    "z interval and test"
)
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
    """statsmodels' REML fit with its default optimizers (or None), and what it warned or
    raised, as notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = MixedLM(y, x, groups=groups, missing="raise").fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as error:
            return None, [f"mixed model: the fit failed ({error})"]
    messages = dict.fromkeys(str(w.message) for w in caught)
    return result, [f"mixed model: statsmodels warned: {m}" for m in messages]


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
    model = RandomIntercept(y, x, groups)
    if model.residual_share() <= 1e-20:
        return failed("mixed model: the values are fitted exactly by participant, treatment "
                      "and period (no residual variation); inference is undefined")  # fmt: skip
    result, notes = _fit(y, x, groups)
    if result is None:
        return failed(*notes)
    scale = float(result.scale)  # type: ignore[attr-defined]
    start = float(result.cov_re[0, 0]) / scale if scale > 0 else math.nan  # type: ignore[attr-defined]
    converged = bool(result.converged)  # type: ignore[attr-defined]
    point = None
    if converged and math.isfinite(start) and start > _BOUNDARY:
        # statsmodels stops at its optimizer's tolerance (estimates good to about 1e-7);
        # the root of the exact score in the one variance ratio makes them reproducible.
        point = model.root_near(start)
    if point is None and model.at(0.0).score <= 0:
        # The optimum is at zero participant variance, where optimizers in statsmodels'
        # square-root parametrization stall; there the model is ordinary least squares.
        point = model.at(0.0)
        notes = [
            "mixed model: participant variance estimated at 0 (the REML score is negative "
            "there, so the optimum is on the boundary); the model is then ordinary least "
            "squares on treatment and period, reported as such",
            *(f"{note} (at the boundary)" for note in notes),
        ]
    elif point is None:
        reason = ("REML did not converge" if not converged else "the REML optimum statsmodels "
                  "found could not be confirmed (no root of the REML score near it)")  # fmt: skip
        return failed(f"mixed model: {reason}; no estimate is reported", *notes)
    estimate = float(point.coefficients[1])
    se = math.sqrt(float(point.covariance[1, 1]))
    variance_residual = point.residual_variance
    variance_participant = point.ratio * variance_residual
    if not (finite_or_none(estimate, se, variance_residual) and se > 0):
        return failed("mixed model: the fit gave a non-finite estimate or a zero standard "
                      "error; no estimate is reported", *notes)  # fmt: skip
    z = estimate / se
    half = z_quantile(confidence) * se
    return MixedModelAnalysis(
        **base, estimate=estimate, standard_error=se, ci_low=estimate - half,  # type: ignore[arg-type]
        ci_high=estimate + half, z_statistic=z, p_value=z_two_sided_p(z),
        variance_participant=variance_participant, variance_residual=variance_residual,
        converged=True, notes=tuple(notes),
    )  # fmt: skip
