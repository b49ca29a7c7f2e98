"""Reads about a participant's periods: her local day, and which dates she may still correct."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from diary.models import MenstrualPeriod, Participant
from diary.rules.local_time import local_date


def local_today(participant: Participant, now: datetime) -> date:
    """Her calendar day at `now`, in her time zone (the day windows and reports count in)."""
    return local_date(now, ZoneInfo(participant.time_zone))


def period_correctable(period: MenstrualPeriod, now: datetime) -> dict[str, bool]:
    """Which of the period's dates the participant may still correct (study grace time)."""
    grace = timedelta(hours=period.participant.study.period_correction_grace_hours)
    return {
        "started_on": now - period.start_reported_at <= grace,
        "ended_on": period.end_reported_at is not None and now - period.end_reported_at <= grace,
    }
