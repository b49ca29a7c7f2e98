"""Pure rules of the casebook: its canonical serialisation and hash, and how late a change is.

No Django, no clock: the selector hands in plain values, the caller hands in the instants.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# The version of the serialisation below. A signature records the one it was hashed under;
# changing what goes into the casebook (a field added) is a new version, never an edit.
CASEBOOK_FORMAT = "casebook-1"


def casebook_canonical(content: dict[str, Any]) -> bytes:
    """`content` (plain JSON values) as bytes that do not depend on key order or spacing:
    keys sorted, no whitespace, UTF-8. Two equal casebooks give equal bytes."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def casebook_hash(content: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical serialisation: what a signature is bound to."""
    return hashlib.sha256(casebook_canonical(content)).hexdigest()


# What a signature at a milestone is hashed under: her data up to the milestone's period.
MILESTONE_FORMAT = "casebook-milestone-1"
# The assessment statuses that count as done for a milestone: submitted, or closed without.
CLOSED_STATUSES = frozenset({"submitted", "missed", "excused"})


@dataclass(frozen=True)
class Milestone:
    """A point the study defines at which the investigator signs: after period `after_period`
    (her data of periods 1..after_period), named `label` ("After period 3", "End of study")."""

    after_period: int
    label: str


def milestones_parse(value: Any, *, number_of_periods: int) -> tuple[Milestone, ...]:
    """A study's milestones (a list of {"after_period": n, "label": "..."}) in period order.
    Raises ValueError saying what is wrong: not a list, a period outside 1..number_of_periods,
    a missing label, a period or label given twice."""
    if not isinstance(value, list):
        raise ValueError('Milestones are a list of {"after_period": n, "label": "..."}.')
    milestones: list[Milestone] = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"after_period", "label"}:
            raise ValueError("Each milestone has only after_period and label.")
        period = item.get("after_period")
        if not isinstance(period, int) or isinstance(period, bool):
            raise ValueError("A milestone's after_period is a whole number (the period).")
        if not 1 <= period <= number_of_periods:
            raise ValueError(
                f"A milestone's after_period is between 1 and {number_of_periods} "
                f"(the study's periods), not {period}."
            )
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"The milestone after period {period} needs a label.")
        milestones.append(Milestone(period, label.strip()))
    periods = [m.after_period for m in milestones]
    labels = [m.label.casefold() for m in milestones]
    if len(set(periods)) != len(periods) or len(set(labels)) != len(labels):
        raise ValueError("A milestone's period or label is given twice.")
    return tuple(sorted(milestones, key=lambda m: m.after_period))


def milestone_content(content: dict[str, Any], *, after_period: int) -> dict[str, Any]:
    """What a signature at the milestone after period `after_period` covers, from her whole
    casebook (casebook_content): who she is, and her periods, questionnaires and responses of
    periods 1..after_period. Her later periods and her status are left out, so only a change
    to the data up to the milestone changes its hash."""
    return {
        "format": MILESTONE_FORMAT,
        "milestone": after_period,
        "study": content["study"],
        "site": content["site"],
        "participant": content["participant"],
        "periods": [p for p in content["periods"] if p["number"] <= after_period],
        "assessments": [a for a in content["assessments"] if a["period_number"] <= after_period],
        "responses": [r for r in content["responses"] if r["period_number"] <= after_period],
    }


def milestone_reached(content: dict[str, Any], *, after_period: int) -> bool:
    """Every period 1..after_period has its questionnaires submitted, missed or excused."""
    statuses = {a["period_number"]: a["status"] for a in content["assessments"]}
    return all(statuses.get(n) in CLOSED_STATUSES for n in range(1, after_period + 1))


def late_by(*, closes_at: datetime | None, changed_at: datetime) -> timedelta | None:
    """How long after the window closed a change was made; None when it was made inside the
    window, or when the window has no end."""
    if closes_at is None or changed_at <= closes_at:
        return None
    return changed_at - closes_at


def late_label(delay: timedelta | None) -> str:
    """'3 days 4 hours after the window closed', '25 minutes after ...'; '' when not late."""
    if delay is None:
        return ""
    days, seconds = delay.days, delay.seconds
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days and (minutes or not hours):
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts) + " after the window closed"
