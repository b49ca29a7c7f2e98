"""Helpers that put a participant at a point of her diary, for view and browser tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from diary.models import Assessment, Participant
from diary.selectors.periods import local_today
from diary.services.periods import period_end_report, period_start_report
from scoring.definitions import instrument_get


def open_assessment(participant: Participant, *, number_of_days_ago: int = 6) -> Assessment:
    """Report one period that ended yesterday: its questionnaire window is open now."""
    now = timezone.now()
    today = local_today(participant, now)
    period = period_start_report(
        participant=participant,
        started_on=today - timedelta(days=number_of_days_ago),
        actor=participant.user,
        now=now,
    )
    period_end_report(
        period=period, ended_on=today - timedelta(days=1), actor=participant.user, now=now
    )
    return Assessment.objects.get(participant=participant, period_number=period.number)


def window_close(assessment: Assessment) -> None:
    """Move the window into the past, as if the participant came back too late."""
    now = timezone.now()
    Assessment.objects.filter(pk=assessment.pk).update(
        opens_at=now - timedelta(days=8), closes_at=now - timedelta(minutes=1)
    )


def ehp30_pages(study) -> list:
    return list(instrument_get("ehp30").pages(study.instrument_modules.get("ehp30", ())))
