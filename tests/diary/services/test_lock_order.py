"""Locks and the audit chain: a transaction that has written an audited row holds the chain's
lock until it commits, and its foreign keys are checked at commit (KEY SHARE on the rows they
point at). A service that serialises on a participant's row must therefore never take a lock
that blocks such a check (FOR UPDATE does; FOR NO KEY UPDATE does not), or it and a submission
at the same moment deadlock: the CI run that found it lost a participant's submission."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from diary.models import Assessment, AssessmentStatus, AuditAction, Participant
from diary.rules.chain_key import connection_options
from diary.selectors.audit_chain import audit_chain_verify
from diary.services.assessments import assessments_refresh_status
from diary.services.audit import audit_record
from diary.services.periods import period_start_report

pytestmark = pytest.mark.django_db(transaction=True)


def _window_closed_an_hour_ago(participant: Participant) -> Assessment:
    now = timezone.now()
    Assessment.objects.filter(participant=participant).update(
        status=AssessmentStatus.SCHEDULED,
        opens_at=now + timedelta(days=30),
        closes_at=now + timedelta(days=40),
    )
    Assessment.objects.filter(participant=participant, period_number=1).update(
        status=AssessmentStatus.OPEN,
        opens_at=now - timedelta(days=3),
        closes_at=now - timedelta(hours=1),
    )
    return Assessment.objects.get(participant=participant, period_number=1)


class _ForeignKeyCheck:
    """Another session holding what a foreign-key check of a row pointing at the participant
    holds until its transaction ends (KEY SHARE on her row)."""

    def __init__(self, participant: Participant) -> None:
        params = connection.get_connection_params()
        params["options"] = connection_options(settings.AUDIT_CHAIN_KEY)
        self.session = psycopg.connect(**params)
        self.session.execute(
            "SELECT 1 FROM diary_participant WHERE id = %s FOR KEY SHARE", [participant.pk]
        )

    def close(self) -> None:
        self.session.rollback()
        self.session.close()


def test_a_window_that_closes_while_a_row_pointing_at_her_is_written_is_still_marked_missed(
    world,
):
    assessment = _window_closed_an_hour_ago(world.participant_a)
    check = _ForeignKeyCheck(world.participant_a)
    try:
        counts = assessments_refresh_status()
    finally:
        check.close()
    assert counts["missed"] == 1
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.MISSED


def test_her_period_report_is_not_held_up_by_a_row_pointing_at_her_being_written(world):
    check = _ForeignKeyCheck(world.participant_a)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            period = period_start_report(
                participant=world.participant_a,
                started_on=timezone.localdate() - timedelta(days=2),
                actor=world.participant_a.user,
            )
    finally:
        check.close()
    assert period.number == 1


def test_a_submission_and_the_window_job_at_the_same_moment_both_succeed_in_one_chain(world):
    """The deadlock CI met: the submission holds the chain's lock and checks its foreign keys
    at commit; the window job locked her row, then waited for the chain."""
    assessment = _window_closed_an_hour_ago(world.participant_a)
    written = threading.Event()
    failures: list[BaseException] = []

    def submission_like() -> None:
        try:
            with transaction.atomic():
                audit_record(
                    action=AuditAction.PERIOD_REPORTED,
                    study=world.study,
                    participant=world.participant_a,
                    actor=world.participant_a.user,
                )
                written.set()
                time.sleep(1.5)  # the window job starts meanwhile
        except BaseException as exc:  # the thread's failure is the test's
            failures.append(exc)
            written.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=submission_like)
    thread.start()
    assert written.wait(timeout=30)
    counts = assessments_refresh_status()
    thread.join(timeout=60)
    assert not failures
    assert counts["missed"] == 1
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.MISSED
    report = audit_chain_verify(key=settings.AUDIT_CHAIN_KEY)
    assert report.passed, report.problems
