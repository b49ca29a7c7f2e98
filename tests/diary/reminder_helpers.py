"""Shared set-up for the reminder tests: participants in their own zones, a controlled clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.core import mail

from diary.models import Assessment, Participant, Site, Study
from diary.services.periods import period_end_report, period_start_report
from diary.services.reminders import reminders_dispatch
from tests.conftest import make_participant

ENROLLED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at_local(participant: Participant, day: date, clock: time) -> datetime:
    """The UTC instant of a wall-clock time on the participant's own clock."""
    tz = ZoneInfo(participant.time_zone)
    return datetime.combine(day, clock).replace(tzinfo=tz).astimezone(UTC)


def enrol(
    study: Study, site: Site, subject_id: str, time_zone: str, *, language: str = "en"
) -> Participant:
    participant = make_participant(study, site, subject_id, time_zone=time_zone, now=ENROLLED)
    if language != participant.language:
        Participant.objects.filter(pk=participant.pk).update(language=language)
        participant.refresh_from_db()
    return participant


def window_open(
    participant: Participant, *, started_on: date, ended_on: date, number: int = 1
) -> Assessment:
    """Report a period (start at local noon that day, end five minutes into the end day):
    the questionnaire window opens at local midnight of the end day."""
    period_start_report(
        participant=participant,
        started_on=started_on,
        actor=participant.user,
        now=at_local(participant, started_on, time(12, 0)),
    )
    period = participant.periods.get(number=number)
    period_end_report(
        period=period,
        ended_on=ended_on,
        actor=participant.user,
        now=at_local(participant, ended_on, time(0, 5)),
    )
    return Assessment.objects.get(participant=participant, period_number=number)


def mails_to(participant: Participant) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [participant.contact.email]]


def beat(now: datetime, *, times: int = 1) -> None:
    """What celery beat does every five minutes, at a controlled instant."""
    for _ in range(times):
        reminders_dispatch(now=now)
