"""Coordinators see the reminders of their own sites' participants: sent, failed, pending."""

from __future__ import annotations

import smtplib
from datetime import date, time, timedelta

import pytest
from django.contrib import admin
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from diary.admin.reminders import ReminderLogInline
from diary.models import Participant, ReminderLog, ReminderStatus
from tests.diary.reminder_helpers import at_local, beat, enrol, window_open

pytestmark = pytest.mark.django_db

WINDOW_DAY = date(2026, 3, 25)
CHANGELIST = reverse("admin:diary_reminderlog_changelist")


@pytest.fixture
def reminded(world, monkeypatch):
    """S01-050's reminder fails every time (her mailbox is refused); S02-050's is sent;
    S01-051's waits for the morning."""
    failing = enrol(world.study, world.site1, "S01-050", "Europe/Copenhagen")
    sent = enrol(world.study, world.site2, "S02-050", "Europe/Copenhagen")
    pending = enrol(world.study, world.site1, "S01-051", "America/New_York")
    for participant in (failing, sent, pending):
        window_open(participant, started_on=date(2026, 3, 20), ended_on=WINDOW_DAY)
    real_send = EmailBackend.send_messages

    def refuse_her(self, messages):
        if messages[0].to == [failing.contact.email]:
            raise smtplib.SMTPRecipientsRefused({failing.contact.email: (550, b"mailbox full")})
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_her)
    now = at_local(failing, WINDOW_DAY, time(8))
    for wait in (0, 5, 15, 45):
        now += timedelta(minutes=wait)
        beat(now)
    statuses = dict(ReminderLog.objects.values_list("participant__subject_id", "status"))
    assert statuses == {
        "S01-050": ReminderStatus.FAILED,
        "S02-050": ReminderStatus.SENT,
        "S01-051": ReminderStatus.PENDING,
    }
    return {"failing": failing, "sent": sent, "pending": pending}


@pytest.fixture
def participant_page_with_reminders(monkeypatch):
    """The participant page with the reminders inline, as the merged admin attaches it."""
    participant_admin = admin.site._registry[Participant]
    if ReminderLogInline not in participant_admin.inlines:
        monkeypatch.setattr(
            participant_admin, "inlines", [*participant_admin.inlines, ReminderLogInline]
        )


def test_coordinator_sees_failed_and_pending_reminders_of_her_site_only(client, world, reminded):
    client.force_login(world.coordinator1)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "S01-050" in page and "S01-051" in page
    assert "Failed" in page and "Pending" in page
    assert "mailbox full" in page
    assert "S02-050" not in page
    assert reminded["failing"].contact.email not in page  # contact details stay out


def test_coordinator_of_site_2_does_not_see_site_1_reminders(client, world, reminded):
    client.force_login(world.coordinator2)
    page = client.get(CHANGELIST).content.decode()
    assert "S02-050" in page and "Sent" in page
    assert "S01-050" not in page and "S01-051" not in page
    log = ReminderLog.objects.get(participant=reminded["failing"])
    response = client.get(reverse("admin:diary_reminderlog_change", args=[log.pk]))
    assert response.status_code == 302  # "does not exist", as for any object out of scope
    assert response.url == reverse("admin:index")


def test_filters_by_status_and_kind(client, world, reminded):
    client.force_login(world.monitor)
    page = client.get(CHANGELIST, {"status__exact": "failed"}).content.decode()
    assert "S01-050" in page and "S01-051" not in page and "S02-050" not in page
    page = client.get(CHANGELIST, {"kind__exact": "period_nudge"}).content.decode()
    assert "S01-050" not in page


def test_participant_never_reaches_the_reminder_admin(client, reminded):
    client.force_login(reminded["failing"].user)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_staff_without_study_membership_is_refused(client, world, reminded):
    client.force_login(world.outsider)
    assert client.get(CHANGELIST).status_code == 404


def test_reminders_are_read_only_even_for_her_coordinator(client, world, reminded):
    client.force_login(world.coordinator1)
    log = ReminderLog.objects.get(participant=reminded["failing"])
    url = reverse("admin:diary_reminderlog_change", args=[log.pk])
    response = client.post(url, {"status": "sent"})
    assert response.status_code == 404
    log.refresh_from_db()
    assert log.status == ReminderStatus.FAILED


def test_participant_page_lists_her_reminders(
    client, world, reminded, participant_page_with_reminders
):
    client.force_login(world.coordinator1)
    url = reverse("admin:diary_participant_change", args=[reminded["failing"].pk])
    page = client.get(url).content.decode()
    assert "Reminders" in page
    assert "Questionnaire open" in page and "Failed" in page and "mailbox full" in page
    url = reverse("admin:diary_participant_change", args=[reminded["pending"].pk])
    page = client.get(url).content.decode()
    assert "Pending" in page


def test_participant_page_of_another_site_stays_closed(
    client, world, reminded, participant_page_with_reminders
):
    client.force_login(world.coordinator2)
    url = reverse("admin:diary_participant_change", args=[reminded["failing"].pk])
    response = client.get(url)
    assert response.status_code == 302
    assert "mailbox full" not in response.content.decode()


def test_reminder_list_queries_do_not_grow_with_rows(client, world, reminded):
    client.force_login(world.monitor)
    client.get(CHANGELIST)  # warm caches (content types, session)

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(CHANGELIST).status_code == 200
        return len(context)

    before = queries()
    for n in range(60, 66):
        more = enrol(world.study, world.site1, f"S01-{n:03d}", "Europe/Copenhagen")
        window_open(more, started_on=date(2026, 3, 20), ended_on=WINDOW_DAY)
    beat(at_local(more, WINDOW_DAY, time(9)))
    assert ReminderLog.objects.count() == 9
    assert queries() == before
