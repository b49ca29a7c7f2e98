"""Helpers for scoring tests: open an assessment and submit answers through the real service."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from diary.models import Assessment, AssessmentStatus, Participant, Response
from diary.services.submission import assessment_submit
from scoring.definitions import instrument_get

EHP30 = instrument_get("ehp30", "1.0")


def ehp30_answers(**by_scale: list[int | None]) -> dict[str, int | None]:
    """Core answers, every item 2 unless a scale's codes are given in item order."""
    answers: dict[str, int | None] = dict.fromkeys(EHP30.item_keys(), 2)
    for scale_key, codes in by_scale.items():
        answers.update(zip(EHP30.scale(scale_key).items, codes, strict=True))
    return answers


def assessment_open(participant: Participant, number: int = 1) -> Assessment:
    now = timezone.now()
    Assessment.objects.filter(participant=participant, period_number=number).update(
        status=AssessmentStatus.OPEN,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
    )
    return Assessment.objects.get(participant=participant, period_number=number)


def submit(
    participant: Participant,
    *,
    number: int = 1,
    ehp30: dict[str, int | None] | None = None,
    vas: int | None = 63,
) -> dict[str, Response]:
    """Submit both instruments of the world study; returns the responses by instrument key."""
    responses = assessment_submit(
        participant=participant,
        assessment_id=assessment_open(participant, number).pk,
        answers={
            "ehp30": ehp30 if ehp30 is not None else ehp30_answers(),
            "vas_dysmenorrhea": {"vas_dysmenorrhea": vas},
        },
        actor=participant.user,
        confirm_unanswered=True,
    )
    return {response.instrument_key: response for response in responses}
