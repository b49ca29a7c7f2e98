"""Reminders by SMS and web push, chosen per participant, with e-mail as the fallback; the same
quiet hours, once-only keys and retries as e-mail. SMS go to the in-memory backend, pushes to a
local fake push service."""

from __future__ import annotations

import smtplib
from datetime import date, time, timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.test import override_settings

from diary.models import (
    AuditAction,
    AuditEvent,
    ParticipantContact,
    PushSubscription,
    ReminderChannel,
    ReminderKind,
    ReminderLog,
    ReminderStatus,
    Site,
    Study,
)
from diary.services.reminder_delivery import reminder_push_message, reminder_sms_text
from diary.services.sms import LocmemBackend
from tests.conftest import make_study
from tests.diary.push_helpers import FakeBrowser, FakePushService
from tests.diary.reminder_helpers import at_local, beat, enrol, mails_to, window_open

pytestmark = pytest.mark.django_db

WINDOW_DAY = date(2026, 3, 25)
FORBIDDEN = (
    "endometriosis",
    "dysmenorr",
    "anakinra",
    "placebo",
    "kineret",
    "ehp",
    "pain",
    "smerte",
    "treatment",
    "behandling",
    "drug",
    "study rem-2",
    "r02-",
)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    LocmemBackend.outbox.clear()
    LocmemBackend.fail_with = ""
    yield
    LocmemBackend.outbox.clear()
    LocmemBackend.fail_with = ""


@pytest.fixture
def study():
    # A title naming the drug and the diagnosis, which no reminder may show.
    study = make_study("REM-2", public_name="Health diary")
    Study.objects.filter(pk=study.pk).update(name="Anakinra for endometriosis pain")
    study.refresh_from_db()
    return study


@pytest.fixture
def site(study):
    return Site.objects.create(study=study, code="R02", name="Channel site")


@pytest.fixture
def service():
    fake = FakePushService()
    yield fake
    fake.close()


def _choose(participant, channel: str, phone: str = "") -> None:
    ParticipantContact.objects.filter(participant=participant).update(
        reminder_channel=channel, phone=phone
    )
    participant.refresh_from_db()


def _open(study: Study, site: Site, subject_id: str, *, language: str = "en"):
    participant = enrol(study, site, subject_id, "Europe/Copenhagen", language=language)
    window_open(participant, started_on=date(2026, 3, 20), ended_on=WINDOW_DAY)
    return participant


def _log(participant) -> ReminderLog:
    return ReminderLog.objects.get(participant=participant, kind=ReminderKind.WINDOW_OPENED)


def test_sms_chosen_sends_one_text_and_no_email(study, site):
    eva = _open(study, site, "R02-001")
    _choose(eva, ReminderChannel.SMS, "+4520123456")
    beat(at_local(eva, WINDOW_DAY, time(8)), times=2)  # beat fired twice: sent once
    (sms,) = LocmemBackend.outbox
    assert sms.to == "+4520123456"
    assert sms.body == "Health diary: A questionnaire is waiting for you in your diary. " + (
        "http://127.0.0.1:8000/diary/"
    )
    assert mails_to(eva) == []
    log = _log(eva)
    assert (log.status, log.channel, log.delivery_problem) == (ReminderStatus.SENT, "sms", "")
    event = AuditEvent.objects.get(action=AuditAction.REMINDER_SENT, participant=eva)
    assert event.details["channel"] == "sms" and event.details["fallback"] is False


def test_sms_waits_for_the_morning_as_email_does(study, site):
    eva = _open(study, site, "R02-002")
    _choose(eva, ReminderChannel.SMS, "+4520123457")
    beat(at_local(eva, WINDOW_DAY, time(6)))
    assert LocmemBackend.outbox == []  # quiet hours until 08:00 on her clock
    beat(at_local(eva, WINDOW_DAY, time(8)))
    assert len(LocmemBackend.outbox) == 1


def test_a_failing_sms_falls_back_to_email_and_says_why(study, site):
    eva = _open(study, site, "R02-003")
    _choose(eva, ReminderChannel.SMS, "+4520123458")
    LocmemBackend.fail_with = "provider refused (HTTP 400 21610): unsubscribed recipient"
    beat(at_local(eva, WINDOW_DAY, time(8)))
    assert len(mails_to(eva)) == 1
    log = _log(eva)
    assert (log.status, log.channel) == (ReminderStatus.SENT, "email")
    assert "SMS failed: provider refused (HTTP 400 21610)" in log.delivery_problem
    assert "sent by e-mail instead" in log.delivery_problem
    assert "+4520123458" not in log.delivery_problem


def test_sms_without_a_number_is_sent_by_email(study, site):
    eva = _open(study, site, "R02-004")
    _choose(eva, ReminderChannel.SMS)
    beat(at_local(eva, WINDOW_DAY, time(8)))
    assert len(mails_to(eva)) == 1 and LocmemBackend.outbox == []
    assert "no mobile number on file" in _log(eva).delivery_problem


def test_when_both_the_sms_and_the_email_fail_the_reminder_is_retried(study, site, monkeypatch):
    eva = _open(study, site, "R02-005")
    _choose(eva, ReminderChannel.SMS, "+4520123459")
    LocmemBackend.fail_with = "provider unreachable: ConnectTimeout"

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    now = at_local(eva, WINDOW_DAY, time(8))
    beat(now)
    log = _log(eva)
    assert (log.status, log.attempts) == (ReminderStatus.PENDING, 1)
    assert "SMS failed" in log.delivery_problem
    LocmemBackend.fail_with = ""
    beat(now + timedelta(minutes=5))
    log.refresh_from_db()
    assert (log.status, log.channel, log.attempts) == (ReminderStatus.SENT, "sms", 2)
    assert len(LocmemBackend.outbox) == 1


def test_push_chosen_reaches_every_device_of_hers_encrypted(study, site, service):
    eva = _open(study, site, "R02-006")
    _choose(eva, ReminderChannel.PUSH)
    phone, laptop = FakeBrowser(), FakeBrowser()
    phone.subscribe(eva, service.url("/phone"))
    laptop.subscribe(eva, service.url("/laptop"))
    beat(at_local(eva, WINDOW_DAY, time(8)), times=2)
    assert sorted(r.path for r in service.received) == ["/laptop", "/phone"]
    by_path = {r.path: r for r in service.received}
    assert phone.decrypt(by_path["/phone"].body) == {
        "title": "Health diary",
        "body": "A questionnaire is waiting for you in your diary.",
        "url": "http://127.0.0.1:8000/diary/",
    }
    assert mails_to(eva) == []
    assert (_log(eva).channel, _log(eva).delivery_problem) == ("push", "")


def test_an_expired_push_subscription_is_removed_and_email_stands_in(study, site, service):
    eva = _open(study, site, "R02-007")
    _choose(eva, ReminderChannel.PUSH)
    FakeBrowser().subscribe(eva, service.url("/dropped"))
    service.status = 410
    beat(at_local(eva, WINDOW_DAY, time(8)))
    assert not PushSubscription.objects.filter(participant=eva).exists()
    assert len(mails_to(eva)) == 1
    log = _log(eva)
    assert log.channel == "email"
    assert "410" in log.delivery_problem and "subscription was removed" in log.delivery_problem
    assert AuditEvent.objects.filter(action=AuditAction.PUSH_REMOVED, participant=eva).exists()


def test_push_without_a_device_is_sent_by_email(study, site):
    eva = _open(study, site, "R02-008")
    _choose(eva, ReminderChannel.PUSH)
    beat(at_local(eva, WINDOW_DAY, time(8)))
    assert len(mails_to(eva)) == 1
    assert "no device has notifications switched on" in _log(eva).delivery_problem


def test_push_is_sent_by_email_when_the_server_has_no_vapid_keys(study, site, service):
    eva = _open(study, site, "R02-009")
    _choose(eva, ReminderChannel.PUSH)
    FakeBrowser().subscribe(eva, service.url("/phone"))
    with override_settings(VAPID_PRIVATE_KEY="", VAPID_PUBLIC_KEY=""):
        beat(at_local(eva, WINDOW_DAY, time(8)))
    assert service.received == []
    assert len(mails_to(eva)) == 1
    assert "no VAPID keys" in _log(eva).delivery_problem


@pytest.mark.parametrize("language", ["en", "da"])
def test_no_channel_names_the_condition_or_the_drug(study, site, language):
    eva = _open(study, site, f"R02-0{10 if language == 'en' else 11}", language=language)
    beat(at_local(eva, WINDOW_DAY, time(8)))
    log = _log(eva)
    (message,) = mails_to(eva)
    push = reminder_push_message(log)
    texts = {
        "e-mail": message.subject + "\n" + message.body,
        "sms": reminder_sms_text(log),
        "push": f"{push['title']}\n{push['body']}\n{push['url']}",
    }
    assert texts["sms"].startswith("Health diary: ")
    assert push["title"] == "Health diary"
    for channel, text in texts.items():
        lowered = text.lower()
        found = [word for word in FORBIDDEN if word in lowered]
        assert found == [], (channel, found)
    if language == "da":
        assert "spørgeskema" in texts["sms"] and "spørgeskema" in push["body"]
