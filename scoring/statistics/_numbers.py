"""Exact arithmetic and JSON-safe results, shared by the statistics modules.

Inputs may be int, float, Decimal or Fraction; they are turned into Fractions so that sums,
means, variances and ranks are exact (two scores that are equal as rationals stay tied, which
float arithmetic does not guarantee: 1/3 + 1/3 and 2/3 may differ in the last bit). A result is
converted to float64 once, at the end. Nothing is rounded for display here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real
from typing import Any

from scipy import stats

Number = int | float | Decimal | Fraction


def exact(value: object) -> Fraction:
    """`value` as an exact Fraction. TypeError for None, bool or a non-number; ValueError for
    NaN or infinity. A float is taken at its exact binary value (0.1 is 3602879701896397/2**55):
    pass Decimal or Fraction when the decimal value is meant."""
    if value is None:
        raise TypeError("missing value (None): pass only present values, a missing value is not 0")
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise TypeError(f"expected int, float, Decimal or Fraction, got {type(value).__name__}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Integral):
        return Fraction(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite value {value!r}")
        return Fraction(value)
    as_float = float(value)
    if not math.isfinite(as_float):
        raise ValueError(f"non-finite value {value!r}")
    return Fraction(as_float)


def mean(values: Sequence[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)


def sum_of_squares(values: Sequence[Fraction]) -> Fraction:
    """Sum of squared deviations from the mean, exact."""
    centre = mean(values)
    return sum(((v - centre) ** 2 for v in values), Fraction(0))


def variance(values: Sequence[Fraction]) -> Fraction:
    """Sample variance (ddof=1), exact; needs at least 2 values."""
    return sum_of_squares(values) / (len(values) - 1)


def sqrt(value: Fraction) -> float:
    return math.sqrt(float(value))


def ratio_over_root(numerator: Fraction, squared_denominator: Fraction) -> float:
    """numerator / sqrt(squared_denominator), with the square taken exactly first, so that a
    t statistic is as precise as float64 allows (squared_denominator > 0)."""
    magnitude = math.sqrt(float(numerator * numerator / squared_denominator))
    return math.copysign(magnitude, numerator) if numerator else 0.0


def check_confidence(confidence: float) -> None:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ValueError(f"confidence must be a number between 0 and 1, got {confidence!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def t_quantile(confidence: float, df: float) -> float:
    """Two-sided critical value of Student's t: the (1 + confidence) / 2 quantile."""
    return float(stats.t.ppf((1 + confidence) / 2, df))


def t_two_sided_p(t: float, df: float) -> float:
    return float(2 * stats.t.sf(abs(t), df))


def z_quantile(confidence: float) -> float:
    return float(stats.norm.ppf((1 + confidence) / 2))


def z_two_sided_p(z: float) -> float:
    return float(2 * stats.norm.sf(abs(z)))


def finite_or_none(*values: float | None) -> bool:
    """True when every value is a finite float (None counts as not finite)."""
    return all(v is not None and math.isfinite(v) for v in values)


def jsonable(value: Any) -> Any:
    """Nested dicts and lists of str, int, float, bool, None. A non-finite float is a bug in the
    statistics (they return None with a note instead), so it raises rather than pass on."""
    if isinstance(value, AsDict):
        return value.as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, Fraction):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("non-finite float in a statistics result")
    return value


class AsDict:
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: nested dicts and lists of str, int, bool, full-precision float, None
        (json.dumps(..., allow_nan=False) accepts it)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
