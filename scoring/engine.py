"""The scoring engine: scale scores from validated answers, exact, plus rounding for display.

Pure: no Django import, no clock. Scores are exact Fractions; storage keeps them in NUMERIC
columns with at least 4 decimals (decimal_exact) and rounding happens only for display and export
(display_round), half away from zero. Python's round() rounds half to even (6.25 -> 6.2), which
is not what the EHP-30 reports expect, and a float in between would make 6.35 come out as 6.3.

Bump ALGORITHM_VERSION whenever any computed value could change: Score rows are keyed by it and
`rescore` recomputes under the new version while the old rows stay for comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from scoring.definition_schema import Instrument, Scale
from scoring.definitions import answers_validate

ALGORITHM_VERSION = "1"
MISSING_RULES = ("half", "more_than_half", "complete")
DEFAULT_RULE = "half"


@dataclass(frozen=True)
class ScaleScore:
    """One scale of one response.

    `value` is the exact score, None when too few items were answered or the scale does not
    apply. `applicable` is False only for a module whose gate was answered 0 (does not apply):
    that is not missing data, and `items_answered` is then 0.
    """

    scale: str
    value: Fraction | None
    items_answered: int
    items_in_scale: int
    applicable: bool = True


def rule_allows(rule: str, *, answered: int, items: int) -> bool:
    """Whether `answered` of `items` is enough to score under a missing-item rule.

    half: at least half answered (Pain 6 of 11, Self-image 2 of 3); more_than_half: strictly
    more than half; complete: every item. Zero answered is never enough. ValueError for an unknown
    rule.
    """
    if rule not in MISSING_RULES:
        raise ValueError(f"unknown missing-item rule {rule!r}, expected one of {MISSING_RULES}")
    if answered == 0:
        return False
    if rule == "half":
        return answered * 2 >= items
    if rule == "more_than_half":
        return answered * 2 > items
    return answered == items


def scale_score(
    instrument: Instrument, scale: Scale, answers: Mapping[str, int | None], *, rule: str
) -> ScaleScore:
    """Score one scale from validated answers (see scores_compute)."""
    values = [value for key in scale.items if (value := answers.get(key)) is not None]
    answered, size = len(values), len(scale.items)
    if scale.module is not None and answers.get(instrument.module(scale.module).gate) == 0:
        return ScaleScore(scale.key, None, 0, size, applicable=False)
    if not rule_allows(rule, answered=answered, items=size):
        return ScaleScore(scale.key, None, answered, size)
    total = sum(values)
    if scale.method == "value":
        return ScaleScore(scale.key, Fraction(total), answered, size)
    # The parser guarantees every item of the scale has codes 0..max_value.
    maximum = instrument.item(scale.items[0]).max_value
    # Dividing by the answered items only is the same as mean imputation of the missing ones.
    return ScaleScore(scale.key, Fraction(100 * total, maximum * answered), answered, size)


def scores_compute(
    instrument: Instrument,
    answers: Mapping[str, object],
    *,
    rule: str = DEFAULT_RULE,
    modules: Iterable[str] = (),
) -> list[ScaleScore]:
    """Every scale of the instrument for these answers: the core scales, then the scales of the
    chosen `modules`, in definition order.

    Validates the answers first with answers_validate (raises AnswersInvalid; nothing is clamped).
    Scale score = 100 * sum / (max code * items answered) when the missing-item `rule` allows,
    else None, never 0. A "value" scale (the VAS) is the answer itself. A module whose gate is 0
    gives value None with applicable False; a module whose gate is unanswered is scored from
    whatever items were answered, like any scale. ValueError for an unknown rule or module.
    """
    rule_allows(rule, answered=0, items=1)  # unknown rule: fail before looking at answers
    modules = tuple(modules)
    clean = answers_validate(instrument, answers, modules=modules)
    return [scale_score(instrument, s, clean, rule=rule) for s in instrument.scales_for(modules)]


def _round_half_away(value: Fraction, places: int) -> Decimal:
    if places < 0:
        raise ValueError("places must be 0 or more")
    scaled = abs(value) * 10**places
    # floor(x + 1/2) on the magnitude rounds a tie up, i.e. away from zero once the sign is back.
    digits = int(scaled + Fraction(1, 2))
    sign = 1 if value < 0 and digits else 0  # never "-0.0"
    # Built from its digits: exact whatever the decimal context's precision.
    return Decimal((sign, tuple(int(d) for d in str(digits)), -places))


def _exact(value: Fraction | Decimal | int) -> Fraction:
    # Refuse float explicitly: Fraction(0.1) is a binary approximation, not 1/10.
    if isinstance(value, float | bool) or not isinstance(value, Fraction | Decimal | int):
        raise TypeError(f"expected Fraction, Decimal or int, got {type(value).__name__}")
    return Fraction(value)


def display_round(value: Fraction | Decimal | None, places: int = 1) -> Decimal | None:
    """`value` rounded half away from zero to `places` decimals, exactly (no float in between):
    6.25 -> 6.3, -6.25 -> -6.3, 2.5 at 0 places -> 3, 425/11 -> 38.6. None stays None.
    The result has exactly `places` decimals (Decimal("0.0") for 0)."""
    if value is None:
        return None
    return _round_half_away(_exact(value), places)


def decimal_exact(value: Fraction, places: int = 4) -> Decimal:
    """`value` for a NUMERIC column: half away from zero at `places` (default 4) decimals.

    Storage keeps 4 or more decimals so that rounding the stored value for display (1 decimal)
    gives the same result as rounding the exact Fraction: an EHP-30 score is 25 * sum / answered
    with at most 11 answered, so it is either exactly on a display tie (x.x5) or at least
    1/220 away from one, far more than the 0.00005 a 4-decimal value can move.
    """
    return _round_half_away(_exact(value), places)
