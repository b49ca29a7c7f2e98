"""Holm's step-down adjustment of p-values across outcomes (Holm, Scand J Stat 1979;6:65-70)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scoring.statistics._numbers import AsDict

HOLM_METHOD = (
    "Holm step-down adjustment across outcomes (family-wise error rate); adjusted p = max over "
    "the smaller p-values of min(1, (m - rank + 1) p), m = number of outcomes with a p-value"
)


@dataclass(frozen=True)
class HolmAdjustment(AsDict):
    """Adjusted p-value per key (None when the key's own p-value is None: it is left out of
    the family, and `notes` says so). family_size is m."""

    method: str
    family_size: int
    p_values: dict[str, float | None]
    adjusted: dict[str, float | None]
    notes: tuple[str, ...]


def holm_adjust(p_values: Mapping[str, float | None]) -> HolmAdjustment:
    """Holm-adjusted p-values of a family, e.g. {"pain": 0.01, "self_image": 0.04, ...}.

    Ties keep the key order of the mapping, which does not change the adjusted values (tied
    p-values get the same adjusted p). ValueError for a p-value outside [0, 1] or not finite.
    """
    for key, p in p_values.items():
        if p is not None and (isinstance(p, bool) or not math.isfinite(p) or not 0 <= p <= 1):
            raise ValueError(f"p-value for {key!r} must be within [0, 1], got {p!r}")
    present = [(key, float(p)) for key, p in p_values.items() if p is not None]
    m = len(present)
    adjusted: dict[str, float | None] = dict.fromkeys(p_values)
    running = 0.0
    for rank, (key, p) in enumerate(sorted(present, key=lambda item: item[1]), start=1):
        running = max(running, min(1.0, (m - rank + 1) * p))
        adjusted[key] = running
    notes = tuple(
        f"{key}: no p-value, left out of the Holm family" for key, p in p_values.items()
        if p is None
    )  # fmt: skip
    return HolmAdjustment(HOLM_METHOD, m, dict(p_values), adjusted, notes)
