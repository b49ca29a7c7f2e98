"""Reads. Selectors never write."""

from __future__ import annotations

from typing import Any

from diary.models import Participant


def diary_overview(*, participant: Participant) -> dict[str, Any]:
    """What the participant's home page lists: her periods and her assessments (no scores)."""
    return {
        "periods": list(participant.periods.order_by("number")),
        "assessments": list(participant.assessments.order_by("period_number")),
    }
