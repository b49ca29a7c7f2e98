"""Reporting and correcting periods, and the questionnaire windows they open."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from diary.models import Assessment, AssessmentStatus, AuditAction, AuditEvent
from diary.rules.windows import WindowRule, window_compute
from diary.selectors.periods import local_today
from diary.services.assessments import assessments_refresh_status
from diary.services.periods import period_correct, period_end_report, period_start_report
from diary.services.submission import SubmissionRefused, assessment_submit
from tests.conftest import make_participant

pytestmark = pytest.mark.django_db

RULE = WindowRule(fallback_open_days=8, length_days=7, close_time=time(21, 0))


@pytest.mark.parametrize(
    ("zone", "ended_on", "opens_utc", "closes_utc"),
    [
        # Copenhagen leaves summer time on 26 October 2025: UTC+2 at opening, UTC+1 at closing.
        ("Europe/Copenhagen", date(2025, 10, 22), "2025-10-21T22:00", "2025-10-29T20:00"),
        # New York enters summer time on 8 March 2026: UTC-5 at opening, UTC-4 at closing.
        ("America/New_York", date(2026, 3, 5), "2026-03-05T05:00", "2026-03-13T01:00"),
        # Sydney leaves summer time on 5 April 2026: UTC+11 at opening, UTC+10 at closing.
        ("Australia/Sydney", date(2026, 4, 1), "2026-03-31T13:00", "2026-04-08T11:00"),
    ],
)
def test_window_keeps_local_midnight_and_closing_time_across_dst(
    zone, ended_on, opens_utc, closes_utc
):
    opens_at, closes_at = window_compute(
        started_on=ended_on - timedelta(days=4), ended_on=ended_on, rule=RULE, tz=ZoneInfo(zone)
    )
    assert opens_at == datetime.fromisoformat(opens_utc).replace(tzinfo=UTC)
    assert closes_at == datetime.fromisoformat(closes_utc).replace(tzinfo=UTC)
    local_close = closes_at.astimezone(ZoneInfo(zone))
    assert (local_close.date(), local_close.time()) == (ended_on + timedelta(days=7), time(21))


def test_window_opens_fallback_days_after_the_start_without_an_end():
    opens_at, _ = window_compute(
        started_on=date(2026, 1, 10), ended_on=None, rule=RULE, tz=ZoneInfo("Europe/Copenhagen")
    )
    assert opens_at.astimezone(ZoneInfo("Europe/Copenhagen")).date() == date(2026, 1, 18)


def test_reporting_an_end_opens_the_questionnaire_in_the_participants_zone(world):
    participant = make_participant(world.study, world.site1, "S01-050", time_zone="Asia/Tokyo")
    now = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
    period = period_start_report(
        participant=participant, started_on=date(2026, 6, 6), actor=None, now=now
    )
    period_end_report(period=period, ended_on=date(2026, 6, 10), actor=None, now=now)
    assessment = Assessment.objects.get(participant=participant, period_number=1)
    assert assessment.status == AssessmentStatus.OPEN
    assert assessment.opens_at == datetime(2026, 6, 9, 15, 0, tzinfo=UTC)  # Tokyo midnight


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "cannot be in the future"), (8, "at most 7 days ago")],
)
def test_start_date_in_the_future_or_beyond_the_backdating_limit_is_refused(world, days, message):
    participant = world.participant_a
    today = local_today(participant, timezone.now())
    with pytest.raises(ValidationError, match=message):
        period_start_report(
            participant=participant, started_on=today - timedelta(days=days), actor=None
        )


def test_a_period_cannot_start_before_or_during_the_previous_one(world):
    participant = world.participant_a
    today = local_today(participant, timezone.now())
    first = period_start_report(
        participant=participant, started_on=today - timedelta(days=6), actor=None
    )
    period_end_report(period=first, ended_on=today - timedelta(days=3), actor=None)
    with pytest.raises(ValidationError, match="must start after the previous one"):
        period_start_report(
            participant=participant, started_on=today - timedelta(days=4), actor=None
        )


def test_a_date_can_be_corrected_within_the_grace_time_and_the_old_value_is_kept(world):
    participant = world.participant_a
    now = timezone.now()
    today = local_today(participant, now)
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=2), actor=None, now=now
    )
    period_correct(
        period=period,
        started_on=today - timedelta(days=3),
        actor=participant.user,
        now=now + timedelta(hours=47),
    )
    period.refresh_from_db()
    assert period.started_on == today - timedelta(days=3)
    event = AuditEvent.objects.get(action=AuditAction.PERIOD_CORRECTED)
    assert event.details["old"] == {"started_on": (today - timedelta(days=2)).isoformat()}
    assert event.details["new"] == {"started_on": (today - timedelta(days=3)).isoformat()}
    assert event.actor == participant.user


def test_a_correction_after_the_grace_time_is_refused(world):
    participant = world.participant_a
    now = timezone.now()
    today = local_today(participant, now)
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=2), actor=None, now=now
    )
    with pytest.raises(ValidationError, match="within 48 hours"):
        period_correct(
            period=period,
            started_on=today - timedelta(days=3),
            actor=None,
            now=now + timedelta(hours=49),
        )


def test_correcting_the_end_moves_an_unsettled_window(world):
    participant = world.participant_a
    now = timezone.now()
    today = local_today(participant, now)
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=5), actor=None, now=now
    )
    period_end_report(period=period, ended_on=today - timedelta(days=1), actor=None, now=now)
    before = Assessment.objects.get(participant=participant, period_number=1).opens_at
    period_correct(period=period, ended_on=today - timedelta(days=2), actor=None, now=now)
    after = Assessment.objects.get(participant=participant, period_number=1).opens_at
    assert before - after == timedelta(days=1)


def test_beat_sweep_marks_a_closed_unsubmitted_window_missed_and_submission_is_refused(world):
    participant = world.participant_a
    now = timezone.now()
    today = local_today(participant, now)
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=6), actor=None, now=now
    )
    period_end_report(period=period, ended_on=today - timedelta(days=1), actor=None, now=now)
    assessment = Assessment.objects.get(participant=participant, period_number=1)
    later = assessment.closes_at + timedelta(minutes=1)
    assert assessments_refresh_status(now=later)["missed"] == 1
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.MISSED
    with pytest.raises(SubmissionRefused, match="has closed"):
        assessment_submit(
            participant=participant,
            assessment_id=assessment.pk,
            answers={},
            actor=participant.user,
            confirm_unanswered=True,
        )


# --- the pages ------------------------------------------------------------------------------


def test_reporting_a_start_from_the_page_defaults_to_today(client, world):
    client.force_login(world.participant_a.user)
    today = local_today(world.participant_a, timezone.now())
    page = client.get(reverse("diary:period_start")).content.decode()
    assert f'value="{today.isoformat()}"' in page
    response = client.post(reverse("diary:period_start"), {"started_on": today.isoformat()})
    assert response.url == reverse("diary:home")
    home = client.get(reverse("diary:home")).content.decode()
    assert "Tell us when it ends" in home
    assert "My period has ended" in home


def test_a_future_date_on_the_page_gets_a_clear_error(client, world):
    client.force_login(world.participant_a.user)
    tomorrow = local_today(world.participant_a, timezone.now()) + timedelta(days=1)
    response = client.post(reverse("diary:period_start"), {"started_on": tomorrow.isoformat()})
    assert response.status_code == 200
    assert "The date cannot be in the future." in response.content.decode()
    assert not world.participant_a.periods.exists()


def test_reporting_the_end_from_the_page_opens_the_questionnaire(client, world):
    participant = world.participant_a
    client.force_login(participant.user)
    today = local_today(participant, timezone.now())
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=4), actor=None
    )
    response = client.post(
        reverse("diary:period_end", args=[period.pk]), {"ended_on": today.isoformat()}
    )
    assert response.url == reverse("diary:home")
    home = client.get(reverse("diary:home")).content.decode()
    assert "Your questionnaire for period 1 is open until" in home


def test_correcting_from_the_page(client, world):
    participant = world.participant_a
    client.force_login(participant.user)
    today = local_today(participant, timezone.now())
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=1), actor=None
    )
    url = reverse("diary:period_correct", args=[period.pk])
    assert "Correct the dates" in client.get(reverse("diary:home")).content.decode()
    response = client.post(url, {"started_on": (today - timedelta(days=2)).isoformat()})
    assert response.url == reverse("diary:home")
    period.refresh_from_db()
    assert period.started_on == today - timedelta(days=2)


@pytest.mark.parametrize("name", ["period_end", "period_correct"])
def test_another_participants_period_is_404(client, world, name):
    today = local_today(world.participant_a, timezone.now())
    period = period_start_report(
        participant=world.participant_a, started_on=today - timedelta(days=1), actor=None
    )
    client.force_login(world.participant_b.user)
    url = reverse(f"diary:{name}", args=[period.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"ended_on": today.isoformat()}).status_code == 404
    period.refresh_from_db()
    assert period.ended_on is None


@pytest.mark.parametrize("name", ["home", "period_start"])
def test_period_pages_refuse_staff_and_anonymous_users(client, world, name):
    url = reverse(f"diary:{name}")
    assert client.get(url).url.startswith(reverse("diary:login"))
    # Staff have no diary: she is sent to the admin index.
    client.force_login(world.coordinator1)
    response = client.get(url)
    assert response.status_code == 302 and response.url == reverse("admin:index")
