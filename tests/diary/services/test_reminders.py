"""E-mail reminders with a controlled clock: local time, quiet hours, once per thing."""

from __future__ import annotations

import smtplib
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from diary.models import (
    Assessment,
    AuditAction,
    AuditEvent,
    ParticipantStatus,
    ReminderKind,
    ReminderLog,
    ReminderStatus,
    Site,
)
from diary.services.periods import period_start_report
from diary.services.reminders import reminders_dispatch, reminders_plan
from diary.services.submission import assessment_submit
from tests.conftest import make_study
from tests.diary.reminder_helpers import at_local, beat, enrol, mails_to, window_open

pytestmark = pytest.mark.django_db

# Copenhagen moves its clocks from 02:00 to 03:00 on Sunday 29 March 2026.
WINDOW_DAY = date(2026, 3, 25)
CLOSING_DAY = date(2026, 4, 1)


@pytest.fixture
def study():
    return make_study("REM-1")


@pytest.fixture
def site(study):
    return Site.objects.create(study=study, code="R01", name="Reminder site")


@pytest.fixture
def trio(study, site):
    """Three participants whose windows open on the same local day in three time zones."""
    people = {
        "cph": enrol(study, site, "R01-001", "Europe/Copenhagen"),
        "nyc": enrol(study, site, "R01-002", "America/New_York"),
        "syd": enrol(study, site, "R01-003", "Australia/Sydney"),
    }
    for participant in people.values():
        window_open(participant, started_on=date(2026, 3, 20), ended_on=WINDOW_DAY)
    return people


def test_week_across_dst_reminds_each_zone_at_local_morning_once(trio):
    """Beat every hour for a week crossing the European DST change, each run fired twice:
    every participant gets one opening and one closing reminder, both at 08:00 on her own
    clock, and the one who submitted gets no closing reminder."""
    nyc = trio["nyc"]
    assessment = Assessment.objects.get(participant=nyc, period_number=1)
    submitted_at = at_local(nyc, date(2026, 3, 27), time(19, 0))
    sent_at: dict[tuple[str, str], list[datetime]] = {}
    now = datetime(2026, 3, 24, 0, 0, tzinfo=UTC)
    end = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
    while now <= end:
        if now == submitted_at:
            assessment_submit(
                participant=nyc,
                assessment_id=assessment.pk,
                answers={"ehp30": {"ehp30_q01": 2}},
                actor=nyc.user,
                confirm_unanswered=True,
                now=now,
            )
        before = len(mail.outbox)
        beat(now, times=2)
        for message in mail.outbox[before:]:
            sent_at.setdefault((message.to[0], message.subject), []).append(now)
        now += timedelta(hours=1)

    cph, syd = trio["cph"], trio["syd"]
    opened = "Your study diary: a questionnaire is waiting for you"
    closing = "Reminder: your questionnaire closes soon"
    expected = {
        (cph.contact.email, opened): [at_local(cph, WINDOW_DAY, time(8))],
        (cph.contact.email, closing): [at_local(cph, CLOSING_DAY, time(8))],
        (nyc.contact.email, opened): [at_local(nyc, WINDOW_DAY, time(8))],
        (syd.contact.email, opened): [at_local(syd, WINDOW_DAY, time(8))],
        (syd.contact.email, closing): [at_local(syd, CLOSING_DAY, time(8))],
    }
    assert sent_at == expected
    # 08:00 in Copenhagen is 07:00 UTC before the change and 06:00 UTC after it.
    assert expected[(cph.contact.email, opened)][0].hour == 7
    assert expected[(cph.contact.email, closing)][0].hour == 6
    assert ReminderLog.objects.filter(status=ReminderStatus.SENT).count() == 5
    assert AuditEvent.objects.filter(action=AuditAction.REMINDER_SENT).count() == 5


def test_window_opening_at_midnight_is_reminded_at_eight_not_at_night(trio):
    cph = trio["cph"]
    midnight = at_local(cph, WINDOW_DAY, time(0, 5))
    beat(midnight)
    log = ReminderLog.objects.get(participant=cph, kind=ReminderKind.WINDOW_OPENED)
    assert log.status == ReminderStatus.PENDING
    assert log.due_at == at_local(cph, WINDOW_DAY, time(8))
    beat(at_local(cph, WINDOW_DAY, time(7, 55)))
    assert mails_to(cph) == []
    beat(at_local(cph, WINDOW_DAY, time(8, 0)))
    assert len(mails_to(cph)) == 1


def test_beat_running_late_into_the_night_waits_for_the_morning(trio):
    """A reminder due in the evening whose beat only runs after 21:00 is held until 08:00."""
    cph = trio["cph"]
    reminders_plan(now=at_local(cph, WINDOW_DAY, time(0, 5)))
    ReminderLog.objects.filter(participant=cph).update(
        due_at=at_local(cph, WINDOW_DAY, time(20, 58)),
        next_attempt_at=at_local(cph, WINDOW_DAY, time(20, 58)),
    )
    beat(at_local(cph, WINDOW_DAY, time(21, 3)))
    assert mails_to(cph) == []
    log = ReminderLog.objects.get(participant=cph, kind=ReminderKind.WINDOW_OPENED)
    assert log.next_attempt_at == at_local(cph, WINDOW_DAY + timedelta(days=1), time(8))
    beat(log.next_attempt_at)
    assert len(mails_to(cph)) == 1


def test_closing_reminder_only_to_those_who_have_not_submitted(trio):
    cph, nyc = trio["cph"], trio["nyc"]
    for participant in (cph, nyc):
        beat(at_local(participant, WINDOW_DAY, time(9)))
    assessment_submit(
        participant=cph,
        assessment_id=Assessment.objects.get(participant=cph, period_number=1).pk,
        answers={"ehp30": {"ehp30_q01": 1}},
        actor=cph.user,
        confirm_unanswered=True,
        now=at_local(cph, WINDOW_DAY, time(10)),
    )
    mail.outbox.clear()
    for participant in (cph, nyc):
        beat(at_local(participant, CLOSING_DAY, time(9)))
    assert mails_to(cph) == []
    assert [m.subject for m in mails_to(nyc)] == ["Reminder: your questionnaire closes soon"]
    assert "Wednesday 1 April, 21:00" in mails_to(nyc)[0].body  # her close, her clock


def test_submitting_while_a_reminder_waits_for_the_morning_cancels_it(trio):
    cph = trio["cph"]
    beat(at_local(cph, WINDOW_DAY, time(0, 30)))
    assessment_submit(
        participant=cph,
        assessment_id=Assessment.objects.get(participant=cph, period_number=1).pk,
        answers={"ehp30": {"ehp30_q01": 3}},
        actor=cph.user,
        confirm_unanswered=True,
        now=at_local(cph, WINDOW_DAY, time(6, 0)),
    )
    beat(at_local(cph, WINDOW_DAY, time(8, 0)))
    assert mails_to(cph) == []
    log = ReminderLog.objects.get(participant=cph, kind=ReminderKind.WINDOW_OPENED)
    assert log.status == ReminderStatus.CANCELLED
    assert log.cancel_reason == "The questionnaire has been submitted."


def test_beat_twice_at_the_same_instant_sends_one_email_per_reminder(trio):
    morning = at_local(trio["cph"], WINDOW_DAY, time(8))
    first = reminders_dispatch(now=morning)
    second = reminders_dispatch(now=morning)
    # 08:00 in Copenhagen is 18:00 in Sydney (already reminded) and 03:00 in New York.
    assert first["sent"] == 2
    assert second == {"planned": 0}
    assert sorted(len(mails_to(p)) for p in trio.values()) == [0, 1, 1]
    assert ReminderLog.objects.filter(kind=ReminderKind.WINDOW_OPENED).count() == 3


def test_planning_an_existing_key_again_is_a_no_op_at_the_database(trio):
    """Two beat processes both decide to plan the same reminder: the second insert is ignored
    by the unique key instead of failing."""
    now = at_local(trio["cph"], WINDOW_DAY, time(9))
    assert reminders_plan(now=now) == 3
    original = ReminderLog.objects.get(participant=trio["cph"])
    duplicate = ReminderLog(
        participant=original.participant,
        assessment=original.assessment,
        kind=original.kind,
        key=original.key,
        period_number=1,
        due_at=now,
        next_attempt_at=now,
        created_at=now,
    )
    ReminderLog.objects.bulk_create([duplicate], ignore_conflicts=True)
    assert ReminderLog.objects.filter(key=original.key).count() == 1


def test_failed_send_is_retried_after_backoff_and_then_succeeds(trio, monkeypatch):
    cph = trio["cph"]
    real_send = EmailBackend.send_messages
    failures = [smtplib.SMTPServerDisconnected("Connection unexpectedly closed")]

    def flaky_send(self, messages):
        # The first e-mail to her fails as a dropped SMTP connection would.
        if failures and messages[0].to == [cph.contact.email]:
            raise failures.pop()
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", flaky_send)
    morning = at_local(cph, WINDOW_DAY, time(8))
    beat(morning)
    log = ReminderLog.objects.get(participant=cph, kind=ReminderKind.WINDOW_OPENED)
    assert log.status == ReminderStatus.PENDING
    assert log.attempts == 1
    assert "Connection unexpectedly closed" in log.last_error
    assert log.next_attempt_at == morning + timedelta(minutes=5)
    assert not AuditEvent.objects.filter(action=AuditAction.REMINDER_SENT, participant=cph).exists()

    beat(morning + timedelta(minutes=4))
    assert mails_to(cph) == []
    beat(morning + timedelta(minutes=5))
    assert len(mails_to(cph)) == 1
    log.refresh_from_db()
    assert (log.status, log.attempts) == (ReminderStatus.SENT, 2)
    assert log.sent_at == morning + timedelta(minutes=5)


def test_send_failing_every_time_ends_as_failed_after_the_last_retry(trio, monkeypatch):
    cph = trio["cph"]

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({cph.contact.email: (550, b"mailbox unavailable")})

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    now = at_local(cph, WINDOW_DAY, time(8))
    for wait in (0, 5, 15, 45):
        now += timedelta(minutes=wait)
        beat(now)
    log = ReminderLog.objects.get(participant=cph, kind=ReminderKind.WINDOW_OPENED)
    assert (log.status, log.attempts) == (ReminderStatus.FAILED, 4)
    assert "mailbox unavailable" in log.last_error
    beat(now + timedelta(hours=2))
    assert ReminderLog.objects.get(pk=log.pk).attempts == 4


def test_danish_participant_gets_the_danish_email_with_a_link_but_no_token(study, site):
    dorte = enrol(study, site, "R01-010", "Europe/Copenhagen", language="da")
    window_open(dorte, started_on=date(2026, 3, 20), ended_on=WINDOW_DAY)
    beat(at_local(dorte, WINDOW_DAY, time(8)))
    (message,) = mails_to(dorte)
    assert message.subject == "Din studiedagbog: et spørgeskema venter på dig"
    assert "onsdag den 1. april kl. 21:00" in message.body
    links = [line for line in message.body.splitlines() if "://" in line]
    assert links == ["http://127.0.0.1:8000/diary/"]


def test_reminder_reveals_nothing_clinical(trio):
    beat(at_local(trio["syd"], WINDOW_DAY, time(8)))
    (message,) = mails_to(trio["syd"])
    text = (message.subject + message.body).lower()
    for word in ("anakinra", "placebo", "ehp", "pain", "treatment", "study rem-1", "r01-003"):
        assert word not in text


def test_withdrawn_participant_is_not_reminded(trio):
    cph = trio["cph"]
    beat(at_local(cph, WINDOW_DAY, time(1)))
    type(cph).objects.filter(pk=cph.pk).update(
        status=ParticipantStatus.WITHDRAWN,
        withdrawn_at=at_local(cph, WINDOW_DAY, time(2)),
        withdrawal_reason="Moved away",
    )
    beat(at_local(cph, WINDOW_DAY, time(8)))
    assert mails_to(cph) == []
    log = ReminderLog.objects.get(participant=cph)
    assert log.status == ReminderStatus.CANCELLED
    beat(at_local(cph, CLOSING_DAY, time(8)))
    assert ReminderLog.objects.filter(participant=cph).count() == 1


def test_study_with_reminders_switched_off_sends_nothing(study, trio):
    type(study).objects.filter(pk=study.pk).update(reminders_enabled=False)
    beat(at_local(trio["cph"], WINDOW_DAY, time(9)))
    assert mail.outbox == []
    assert not ReminderLog.objects.exists()


def _report_start(participant, day: date) -> None:
    period_start_report(
        participant=participant,
        started_on=day,
        actor=participant.user,
        now=at_local(participant, day, time(12)),
    )


def test_period_nudge_follows_her_own_mean_cycle(study, site):
    """Cycles of 33 days: the next period is expected 33 days after the last one, and the
    nudge comes three days later at 08:00, not after the study's default 28 days."""
    eva = enrol(study, site, "R01-020", "America/New_York")
    _report_start(eva, date(2026, 3, 2))
    _report_start(eva, date(2026, 4, 4))
    # Study default would nudge on 5 May (4 April + 28 + 3); her mean of 33 days: 10 May.
    beat(at_local(eva, date(2026, 5, 9), time(12)))
    assert [m for m in mails_to(eva) if "check-in" in m.subject] == []
    beat(at_local(eva, date(2026, 5, 10), time(0, 5)))
    log = ReminderLog.objects.get(participant=eva, kind=ReminderKind.PERIOD_NUDGE)
    assert (log.status, log.period_number) == (ReminderStatus.PENDING, 3)
    beat(at_local(eva, date(2026, 5, 10), time(8)))
    nudges = [m for m in mails_to(eva) if m.subject == "Your study diary: a quick check-in"]
    assert len(nudges) == 1
    assert "Has your period started?" in nudges[0].body


def test_period_nudge_uses_study_default_before_two_periods(study, site):
    ida = enrol(study, site, "R01-021", "Australia/Sydney")
    _report_start(ida, date(2026, 3, 2))
    beat(at_local(ida, date(2026, 4, 1), time(23)))  # 2 March + 28 + 2: not yet
    assert not ReminderLog.objects.filter(kind=ReminderKind.PERIOD_NUDGE).exists()
    beat(at_local(ida, date(2026, 4, 2), time(8)))
    assert ReminderLog.objects.get(kind=ReminderKind.PERIOD_NUDGE).status == ReminderStatus.SENT


def test_no_nudge_once_she_has_reported_the_period(study, site):
    eva = enrol(study, site, "R01-022", "Europe/Copenhagen")
    _report_start(eva, date(2026, 3, 2))
    beat(at_local(eva, date(2026, 4, 2), time(0, 5)))  # nudge planned for 08:00
    _report_start(eva, date(2026, 4, 1))
    beat(at_local(eva, date(2026, 4, 2), time(8)))
    assert [m for m in mails_to(eva) if "check-in" in m.subject] == []
    log = ReminderLog.objects.get(kind=ReminderKind.PERIOD_NUDGE)
    assert (log.status, log.cancel_reason) == (
        ReminderStatus.CANCELLED,
        "The period has been reported.",
    )


def test_first_period_nudge_counts_from_activation(study, site):
    new = enrol(study, site, "R01-023", "Europe/Copenhagen")  # activated 1 March
    beat(at_local(new, date(2026, 4, 1), time(8)))  # 1 March + 28 + 3
    log = ReminderLog.objects.get(participant=new, kind=ReminderKind.PERIOD_NUDGE)
    assert (log.status, log.period_number) == (ReminderStatus.SENT, 1)


def test_closing_reminder_that_would_fall_in_the_night_comes_the_evening_before(study, site):
    """Window closing at 07:00 with a 2-hour reminder: 05:00 is quiet and 08:00 is too late,
    so she is reminded at 20:00 the evening before."""
    type(study).objects.filter(pk=study.pk).update(
        window_close_time=time(7, 0), reminder_before_close_hours=2
    )
    study.refresh_from_db()
    early = enrol(study, site, "R01-030", "Europe/Copenhagen")
    window_open(early, started_on=date(2026, 3, 20), ended_on=WINDOW_DAY)
    eve = at_local(early, CLOSING_DAY - timedelta(days=1), time(20, 0))
    beat(eve - timedelta(minutes=5))
    assert [m.subject for m in mails_to(early)] == [
        "Your study diary: a questionnaire is waiting for you"
    ]
    beat(eve)
    assert [m.subject for m in mails_to(early)][1:] == ["Reminder: your questionnaire closes soon"]
    beat(at_local(early, CLOSING_DAY, time(6, 55)))
    assert len(mails_to(early)) == 2


def test_language_without_templates_falls_back_to_english(study, site):
    sofie = enrol(study, site, "R01-040", "Europe/Copenhagen", language="de")
    window_open(sofie, started_on=date(2026, 3, 20), ended_on=WINDOW_DAY)
    beat(at_local(sofie, WINDOW_DAY, time(8)))
    (message,) = mails_to(sofie)
    assert message.subject == "Your study diary: a questionnaire is waiting for you"


def test_participant_without_email_address_is_not_planned(trio):
    trio["cph"].contact.delete()
    beat(at_local(trio["cph"], WINDOW_DAY, time(9)))
    assert not ReminderLog.objects.filter(participant=trio["cph"]).exists()
    assert ReminderLog.objects.count() == 2
