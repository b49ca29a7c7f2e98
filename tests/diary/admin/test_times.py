"""Every admin page names the zone of every time it shows: the participant's own clock with its
zone (her entries, her windows), or UTC labelled. Never a bare time that reads as local.

Each page is rendered with events at one known instant (T, at 7 minutes past the hour) and read
for every date-and-time it prints: each must carry a zone, and T itself must be there.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary.models import Assessment, AuditEvent, ReminderLog
from diary.selectors.periods import local_today
from diary.services.periods import period_end_report, period_start_report
from diary.services.submission import assessment_submit
from scoring.services import scoring_sweep
from tests.conftest import make_participant
from tests.scoring.submitting import assessment_open, ehp30_answers

pytestmark = pytest.mark.django_db

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# A date and a time of day, as any page might print one; what follows it must be a zone.
DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"(?P<zone> (?:UTC|[A-Z]{3,5}|[+-]\d{2,4})\b|Z\b|[+-]\d{2}:\d{2})?"
)
# Django's default English format ("March 10, 2026, 1:07 p.m."), which names no zone.
DJANGO_DEFAULT = re.compile(r"\b\d{1,2}(?::\d{2})? [ap]\.m\.|, (?:midnight|noon)\b")


def unlabelled(page: str) -> list[str]:
    bare = [m.group(0) for m in DATETIME.finditer(page) if not m.group("zone")]
    return bare + DJANGO_DEFAULT.findall(page)


@pytest.fixture
def t():
    """The known instant: within the last two hours, at 7 minutes 5 seconds past the hour."""
    return (timezone.now() - timedelta(hours=1)).replace(minute=7, second=5, microsecond=0)


@pytest.fixture
def her(world, t):
    """A participant in Copenhagen who reported a period and submitted at T."""
    participant = make_participant(world.study, world.site1, "S01-009", now=t - timedelta(days=30))
    today = local_today(participant, t)
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=6), actor=None, now=t
    )
    period_end_report(period=period, ended_on=today - timedelta(days=1), actor=None, now=t)
    assessment = Assessment.objects.get(participant=participant, period_number=1)
    Assessment.objects.filter(pk=assessment.pk).update(opens_at=t - timedelta(days=1))
    assessment_submit(
        participant=participant,
        assessment_id=assessment.pk,
        answers={
            "ehp30": ehp30_answers(),
            "vas_dysmenorrhea": {"vas_dysmenorrhea": 30},
        },
        actor=participant.user,
        confirm_unanswered=True,
        now=t,
    )
    scoring_sweep()
    ReminderLog.objects.filter(participant=participant).update(sent_at=t)
    assessment_open(world.participant_a, 2)  # something closing soon on the dashboard
    return participant


def labels(t) -> tuple[str, str]:
    return f"{t:%Y-%m-%d %H:%M} UTC", f"{t.astimezone(COPENHAGEN):%Y-%m-%d %H:%M %Z}"


def pages(world, her) -> list[tuple[str, object, str]]:
    response = her.assessments.get(period_number=1).responses.order_by("pk").first()
    event = AuditEvent.objects.filter(participant=her).order_by("pk").first()
    period = her.periods.get(number=1)
    assessment = her.assessments.get(period_number=1)
    c1 = world.coordinator1
    pages = [
        ("participant list", c1, reverse("admin:diary_participant_changelist")),
        ("participant page", c1, reverse("admin:diary_participant_change", args=[her.pk])),
        ("periods", c1, reverse("admin:diary_menstrualperiod_changelist")),
        ("period", c1, reverse("admin:diary_menstrualperiod_change", args=[period.pk])),
        ("assessments", c1, reverse("admin:diary_assessment_changelist")),
        ("assessment", c1, reverse("admin:diary_assessment_change", args=[assessment.pk])),
        ("responses", c1, reverse("admin:diary_response_changelist")),
        ("response", c1, reverse("admin:diary_response_change", args=[response.pk])),
        ("audit list", c1, reverse("admin:diary_auditevent_changelist")),
        ("audit event", c1, reverse("admin:diary_auditevent_change", args=[event.pk])),
        ("timeline", c1, reverse("admin:audit_timeline", args=[her.pk])),
        ("compliance", c1, reverse("admin:diary_participant_compliance")),
        ("reminders", c1, reverse("admin:diary_reminderlog_changelist")),
        ("correction", c1, reverse("admin:response_correct", args=[response.pk])),
        ("exports", c1, reverse("admin:exports")),
        ("audit export", c1, reverse("admin:audit_export")),
        ("history", c1, reverse("admin:diary_participant_history", args=[her.pk])),
        ("allocations", world.statistician, reverse("admin:diary_allocation_changelist")),
        ("users", world.admin, reverse("admin:auth_user_changelist")),
        # A staff account (participants' logins are not in the user admin).
        ("user", world.admin, reverse("admin:auth_user_change", args=[c1.pk])),
        ("system audit", world.admin, reverse("admin:system_audit")),
        ("signals", c1, reverse("admin:signals")),
        ("queries", c1, reverse("admin:signal_queries")),
        ("row history", world.statistician, reverse("admin:pghistory_events_changelist")),
    ]
    reminder = ReminderLog.objects.filter(participant=her).first()
    if reminder is not None:
        pages.append(
            ("reminder", c1, reverse("admin:diary_reminderlog_change", args=[reminder.pk]))
        )
    return pages


# Pages that print T itself, and in which zone.
SHOWS_T = {
    "participant page": "local",
    "periods": "utc",
    "assessments": "utc",
    "responses": "utc",
    "response": "utc",
    "audit list": "utc",
    "timeline": "utc to the second",
}


def test_every_admin_page_names_the_zone_of_every_time(world, her, t):
    utc_label, local_label = labels(t)
    assert local_label.endswith(("CET", "CEST"))
    TOTPDevice.objects.create(user=world.admin, name="app", confirmed=True)
    problems = {}
    for name, user, url in pages(world, her):
        client = Client()
        client.force_login(user)
        if user == world.admin:
            session = client.session
            session["otp_device_id"] = TOTPDevice.objects.get(user=user).persistent_id
            session.save()
        response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        page = html.unescape(response.content.decode())
        bare = unlabelled(page)
        if bare:
            problems[name] = bare[:3]
        expected = SHOWS_T.get(name)
        if expected:
            wanted = {
                "local": local_label,
                "utc": utc_label,
                "utc to the second": f"{t:%Y-%m-%d %H:%M:%S} UTC",
            }[expected]
            assert wanted in page, (name, wanted)
    assert problems == {}


def test_the_participant_page_shows_her_clock_and_the_timeline_utc(client, world, her, t):
    _, local_label = labels(t)
    client.force_login(world.coordinator1)
    page = html.unescape(
        client.get(reverse("admin:diary_participant_change", args=[her.pk])).content.decode()
    )
    assert "Times on her clock (Europe/Copenhagen)" in page
    assert local_label in page
    timeline = html.unescape(
        client.get(reverse("admin:audit_timeline", args=[her.pk])).content.decode()
    )
    assert f"{t:%Y-%m-%d %H:%M:%S} UTC" in timeline


def test_the_compliance_dashboard_shows_closing_times_on_her_clock(client, world, her):
    closes = Assessment.objects.get(participant=world.participant_a, period_number=2).closes_at
    client.force_login(world.coordinator1)
    page = html.unescape(
        client.get(reverse("admin:diary_participant_compliance")).content.decode()
    )
    assert f"{closes.astimezone(COPENHAGEN):%Y-%m-%d %H:%M %Z}" in page
