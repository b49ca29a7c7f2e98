"""Closed-form pieces of REML for a linear model with one random intercept per participant.

y = X b + u_participant + e, Var(u) = g s2, Var(e) = s2. For participant i with n_i values,
H_i = I + g J (J all ones) has H_i^-1 = I - c_i J with c_i = g / (1 + n_i g), and
H_i^-1 J H_i^-1 = J / (1 + n_i g)^2, so everything below needs only per-participant sums: O(n p^2)
for any number of participants. Profile REML log-likelihood in g (b and s2 profiled out):

    l(g) = -(sum log(1 + n_i g) + log|X'H^-1 X| + (n - p) log(r'H^-1 r)) / 2

and its derivative, the score,

    l'(g) = -(sum n_i / (1 + n_i g) - tr((X'H^-1X)^-1 sum s_i s_i' / (1 + n_i g)^2)
              - (n - p) sum R_i^2 / (1 + n_i g)^2 / r'H^-1 r) / 2

with s_i = X_i' 1 and R_i the sum of participant i's residuals r = y - X b(g).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize


@dataclass(frozen=True)
class RemlPoint:
    """The model at variance ratio g: GLS coefficients, their covariance s2 (X'H^-1X)^-1 (the
    model-based one that lme4 and SAS PROC MIXED report), s2, and the REML score."""

    ratio: float
    coefficients: np.ndarray
    covariance: np.ndarray
    residual_variance: float
    score: float


class RandomIntercept:
    def __init__(self, y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> None:
        self.y, self.x, self.groups = y, x, groups
        self.sizes = np.bincount(groups).astype(float)
        self.sum_x = np.zeros((len(self.sizes), x.shape[1]))
        np.add.at(self.sum_x, groups, x)
        self.sum_y = np.bincount(groups, weights=y)
        self.xtx, self.xty = x.T @ x, x.T @ y

    def at(self, ratio: float) -> RemlPoint:
        n, p = self.x.shape
        weight = 1 / (1 + self.sizes * ratio)
        shrink = ratio * weight
        information = self.xtx - (self.sum_x.T * shrink) @ self.sum_x
        coefficients = np.linalg.solve(
            information, self.xty - self.sum_x.T @ (shrink * self.sum_y)
        )
        residual = self.y - self.x @ coefficients
        sums = np.bincount(self.groups, weights=residual, minlength=len(self.sizes))
        quadratic = float(residual @ residual - shrink @ sums**2)
        trace = float(
            np.trace(np.linalg.solve(information, (self.sum_x.T * weight**2) @ self.sum_x))
        )
        score = -0.5 * (
            float(self.sizes @ weight) - trace - (n - p) * float(weight**2 @ sums**2) / quadratic
        )
        variance = quadratic / (n - p)
        return RemlPoint(ratio, coefficients, variance * np.linalg.inv(information), variance,
                         score)  # fmt: skip

    def root_near(self, start: float) -> RemlPoint | None:
        """The REML optimum near `start` (a ratio an optimizer found), as the root of the score
        to machine precision; None when no sign change brackets it within a factor of 2**10."""
        low, high = start, start
        for _ in range(10):
            low, high = low / 2, high * 2
            if self.at(low).score > 0 > self.at(high).score:
                ratio = optimize.brentq(lambda g: self.at(g).score, low, high, xtol=1e-15,
                                        rtol=4 * np.finfo(float).eps)  # fmt: skip
                return self.at(ratio)
        return None

    def residual_share(self) -> float:
        """Residual sum of squares of y on participant + X, over the total sum of squares: 0
        when participant, treatment and period fit the values exactly (no REML optimum).
        Participant effects are swept out by centring within participant (Frisch-Waugh)."""
        means_y = self.sum_y / self.sizes
        means_x = self.sum_x / self.sizes[:, None]
        within_y = self.y - means_y[self.groups]
        within_x = self.x[:, 1:] - means_x[self.groups, 1:]
        coefficients, *_ = np.linalg.lstsq(within_x, within_y, rcond=None)
        residual = within_y - within_x @ coefficients
        centred = self.y - self.y.mean()
        return float(residual @ residual) / float(centred @ centred)
