"""The periodic dispatch: registered with beat, and safe when two processes send at once."""

from __future__ import annotations

import threading
from datetime import date, time

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction

from config.celery import app
from diary.models import ReminderLog, ReminderStatus, Site
from diary.services.reminders import reminders_plan, reminders_send_due
from diary.tasks import reminders_dispatch_task
from tests.conftest import make_study
from tests.diary.reminder_helpers import at_local, enrol, mails_to, window_open


def test_beat_runs_the_reminder_dispatch_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["reminders-dispatch"]
    assert entry["task"] == "diary.tasks.reminders_dispatch_task"
    assert entry["task"] in app.tasks
    assert entry["schedule"].minute == set(range(0, 60, 5))


@pytest.mark.django_db
def test_dispatch_task_with_nothing_due_sends_nothing():
    result = reminders_dispatch_task.apply().get()
    assert result == {"planned": 0}
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_reminder_held_by_another_sender_is_skipped_not_sent_twice():
    """A second beat process finds the row locked by the first and leaves it alone; once the
    first has finished, the reminder is sent exactly once."""
    study = make_study("REM-2")
    site = Site.objects.create(study=study, code="R02", name="Second")
    her = enrol(study, site, "R02-001", "Europe/Copenhagen")
    window_open(her, started_on=date(2026, 3, 20), ended_on=date(2026, 3, 25))
    morning = at_local(her, date(2026, 3, 25), time(8))
    assert reminders_plan(now=morning) == 1
    log = ReminderLog.objects.get(participant=her)
    holding, release = threading.Event(), threading.Event()

    def first_sender() -> None:
        try:
            with transaction.atomic():
                ReminderLog.objects.select_for_update().get(pk=log.pk)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=first_sender)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        assert reminders_send_due(now=morning) == {}
        assert mails_to(her) == []
    finally:
        release.set()
        thread.join(timeout=30)
    assert reminders_send_due(now=morning) == {"sent": 1}
    assert reminders_send_due(now=morning) == {}
    assert len(mails_to(her)) == 1
    assert ReminderLog.objects.get(pk=log.pk).status == ReminderStatus.SENT
