"""The study lock (issue 17, item 4): an unblinded data manager proposes a soft or hard lock
with a reason, a second one confirms it; the services refuse what the lock forbids with a
clear message, and the database refuses it for every write path."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from diary.models import (
    AllocationSource,
    Assessment,
    AssessmentStatus,
    AuditAction,
    AuditEvent,
    LockChangeStatus,
    LockLevel,
    MenstrualPeriod,
    Participant,
    ParticipantStatus,
    ReminderLog,
    Response,
    ResponseDraft,
    StaffMembership,
    StaffRole,
    Study,
    StudyLockChange,
)
from diary.services.assessments import assessments_refresh_status
from diary.services.corrections import response_correct
from diary.services.drafts import DraftRefused, draft_save
from diary.services.exports import ExportRequest, export_start
from diary.services.periods import period_start_report
from diary.services.randomization import allocation_assign
from diary.services.reminders import reminders_dispatch
from diary.services.site_actions import participant_withdraw
from diary.services.staff import staff_groups_sync
from diary.services.study_lock import (
    StudyLocked,
    study_lock_confirm,
    study_lock_propose,
    study_lock_reject,
)
from diary.services.submission import assessment_submit
from tests.conftest import make_participant, make_staff
from tests.scoring.submitting import assessment_open, ehp30_answers, submit

pytestmark = pytest.mark.django_db

REASON = "Database lock before the final analysis (DMP 7.2)"


@pytest.fixture
def locking(world):
    """The world with a second unblinded data manager, to confirm."""
    second = make_staff("statistician2")
    StaffMembership.objects.create(user=second, study=world.study, role=StaffRole.STATISTICIAN)
    staff_groups_sync(user=second)
    world.statistician2 = second
    return world


def lock(world, level, *, reason=REASON):
    change = study_lock_propose(
        study=world.study, level=level, reason=reason, actor=world.statistician
    )
    study_lock_confirm(change=change, actor=world.statistician2)
    world.study.refresh_from_db()
    return change


def fresh(participant):
    return Participant.objects.select_related("study").get(pk=participant.pk)


def answers():
    return {"ehp30": ehp30_answers(), "vas_dysmenorrhea": {"vas_dysmenorrhea": 40}}


def test_a_lock_is_in_force_only_when_a_second_data_manager_confirms_it(locking):
    world = locking
    change = study_lock_propose(
        study=world.study, level=LockLevel.SOFT, reason=REASON, actor=world.statistician
    )
    assert change.status == LockChangeStatus.PENDING
    assert Study.objects.get(pk=world.study.pk).lock_level == LockLevel.OPEN
    proposed = AuditEvent.objects.get(action=AuditAction.LOCK_PROPOSED)
    assert proposed.reason == REASON and proposed.actor == world.statistician
    assert proposed.details["to_level"] == "soft" and proposed.unblinded is False

    study_lock_confirm(change=change, actor=world.statistician2)
    study = Study.objects.get(pk=world.study.pk)
    assert study.lock_level == LockLevel.SOFT and study.lock_changed_at is not None
    confirmed = AuditEvent.objects.get(action=AuditAction.LOCK_CONFIRMED)
    assert confirmed.actor == world.statistician2
    assert confirmed.details["proposed_by"] == "statistician"


def test_confirming_ones_own_request_is_refused_and_nothing_changes(locking):
    world = locking
    change = study_lock_propose(
        study=world.study, level=LockLevel.HARD, reason=REASON, actor=world.statistician
    )
    with pytest.raises(ValidationError, match="second person"):
        study_lock_confirm(change=change, actor=world.statistician)
    change.refresh_from_db()
    assert change.status == LockChangeStatus.PENDING
    assert Study.objects.get(pk=world.study.pk).lock_level == LockLevel.OPEN
    assert not AuditEvent.objects.filter(action=AuditAction.LOCK_CONFIRMED).exists()


@pytest.mark.parametrize("reason", ["", "   ", "short"])
def test_a_lock_without_a_reason_is_refused_and_nothing_is_stored(locking, reason):
    with pytest.raises(ValidationError, match="reason"):
        study_lock_propose(
            study=locking.study, level=LockLevel.SOFT, reason=reason, actor=locking.statistician
        )
    assert not StudyLockChange.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.LOCK_PROPOSED).exists()


def test_locking_a_study_already_at_that_level_is_refused(locking):
    lock(locking, LockLevel.HARD)
    with pytest.raises(ValidationError, match="already hard-locked"):
        study_lock_propose(
            study=locking.study, level=LockLevel.HARD, reason=REASON, actor=locking.statistician
        )
    assert StudyLockChange.objects.count() == 1


def test_a_second_request_waits_for_the_first_to_be_decided(locking):
    study_lock_propose(
        study=locking.study, level=LockLevel.SOFT, reason=REASON, actor=locking.statistician
    )
    with pytest.raises(ValidationError, match="already waiting"):
        study_lock_propose(
            study=locking.study, level=LockLevel.HARD, reason=REASON, actor=locking.statistician2
        )
    assert StudyLockChange.objects.count() == 1


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "admin", "outsider"])
def test_only_an_unblinded_data_manager_proposes_or_confirms_a_lock(locking, who):
    with pytest.raises(PermissionDenied):
        study_lock_propose(
            study=locking.study, level=LockLevel.SOFT, reason=REASON, actor=getattr(locking, who)
        )
    change = study_lock_propose(
        study=locking.study, level=LockLevel.SOFT, reason=REASON, actor=locking.statistician
    )
    with pytest.raises(PermissionDenied):
        study_lock_confirm(change=change, actor=getattr(locking, who))
    assert Study.objects.get(pk=locking.study.pk).lock_level == LockLevel.OPEN


def test_a_rejected_request_changes_nothing_and_says_why(locking):
    change = study_lock_propose(
        study=locking.study, level=LockLevel.HARD, reason=REASON, actor=locking.statistician
    )
    study_lock_reject(change=change, actor=locking.statistician2, reason="Queries still open")
    change.refresh_from_db()
    assert change.status == LockChangeStatus.REJECTED
    assert Study.objects.get(pk=locking.study.pk).lock_level == LockLevel.OPEN
    rejected = AuditEvent.objects.get(action=AuditAction.LOCK_REJECTED)
    assert rejected.reason == "Queries still open"


def test_soft_lock_refuses_new_entries_and_keeps_corrections_with_a_reason(locking):
    world = locking
    response = submit(world.participant_a)["vas_dysmenorrhea"]
    assessment_open(world.participant_b)
    lock(world, LockLevel.SOFT)
    participant = fresh(world.participant_b)
    assessment = Assessment.objects.get(participant=participant, period_number=1)
    with pytest.raises(StudyLocked, match="locked"):
        assessment_submit(
            participant=participant,
            assessment_id=assessment.pk,
            answers=answers(),
            actor=participant.user,
            confirm_unanswered=True,
        )
    with pytest.raises(DraftRefused, match="locked for new entries"):
        draft_save(
            assessment=assessment,
            instrument_key="vas_dysmenorrhea",
            answers={"vas_dysmenorrhea": 10},
            actor=participant.user,
        )
    with pytest.raises(StudyLocked, match="locked"):
        period_start_report(
            participant=fresh(world.participant_a),
            started_on=date.today() - timedelta(days=1),  # noqa: DTZ011
            actor=world.participant_a.user,
        )
    assert not ResponseDraft.objects.exists()
    assert Response.objects.filter(assessment=assessment).count() == 0
    corrected = response_correct(
        response=response,
        answers={"vas_dysmenorrhea": 55},
        reason="Transcription error on the source form",
        actor=world.coordinator1,
    )
    assert corrected.supersedes == response


def test_hard_lock_refuses_every_change_with_a_clear_message(locking):
    world = locking
    response = submit(world.participant_a)["vas_dysmenorrhea"]
    assessment_open(world.participant_b)
    lost = make_participant(world.study, world.site1, "S01-009")
    lock(world, LockLevel.HARD)
    participant = fresh(world.participant_b)
    assessment = Assessment.objects.get(participant=participant, period_number=1)
    refused = [
        lambda: assessment_submit(
            participant=participant,
            assessment_id=assessment.pk,
            answers=answers(),
            actor=participant.user,
            confirm_unanswered=True,
        ),
        lambda: draft_save(
            assessment=assessment,
            instrument_key="vas_dysmenorrhea",
            answers={"vas_dysmenorrhea": 10},
            actor=participant.user,
        ),
        lambda: response_correct(
            response=response,
            answers={"vas_dysmenorrhea": 55},
            reason="Transcription error on the source form",
            actor=world.coordinator1,
        ),
        lambda: allocation_assign(
            participant=fresh(lost),
            sequence=world.ap,
            source=AllocationSource.RANDOMIZER,
            actor=world.statistician,
        ),
        lambda: participant_withdraw(
            participant=fresh(world.participant_a), reason="Moved away", actor=world.coordinator1
        ),
    ]
    events = AuditEvent.objects.count()
    for attempt in refused:  # the draft's refusal is a DraftRefused, as for a closed window
        with pytest.raises((StudyLocked, DraftRefused), match="hard-locked"):
            attempt()
    assert AuditEvent.objects.count() == events
    assert Response.objects.count() == 2
    assert fresh(world.participant_a).status == ParticipantStatus.ACTIVE


def test_the_database_refuses_a_locked_studys_writes_whatever_the_path(locking):
    world = locking
    assessment = assessment_open(world.participant_a)
    period_start_report(
        participant=world.participant_a,
        started_on=date.today() - timedelta(days=2),  # noqa: DTZ011
        actor=world.participant_a.user,
    )
    lock(world, LockLevel.HARD)
    with pytest.raises(DatabaseError, match="locked"), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).update(status=AssessmentStatus.EXCUSED)
    with pytest.raises(DatabaseError, match="locked"), transaction.atomic():
        MenstrualPeriod.objects.filter(participant=world.participant_a).update(
            started_on=date(2020, 1, 1)
        )
    with pytest.raises(DatabaseError, match="locked"), transaction.atomic():
        Participant.objects.filter(pk=world.participant_a.pk).update(
            status=ParticipantStatus.WITHDRAWN
        )
    assert Assessment.objects.get(pk=assessment.pk).status != AssessmentStatus.EXCUSED


def test_the_database_refuses_a_participants_entry_under_a_soft_lock(locking):
    world = locking
    assessment = assessment_open(world.participant_a)
    lock(world, LockLevel.SOFT)
    with pytest.raises(DatabaseError, match="locked"), transaction.atomic():
        ResponseDraft.objects.create(
            assessment=assessment, created_at=timezone.now(), updated_at=timezone.now()
        )


def test_the_window_job_leaves_a_hard_locked_study_alone(locking):
    world = locking
    assessment = assessment_open(world.participant_a)
    lock(world, LockLevel.HARD)
    counts = assessments_refresh_status(now=timezone.now() + timedelta(days=5))
    assert counts["missed"] == 0
    assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.OPEN


def test_unlocking_needs_a_reason_and_two_people_and_then_entries_are_taken_again(locking):
    world = locking
    lock(world, LockLevel.HARD)
    with pytest.raises(ValidationError, match="reason"):
        study_lock_propose(
            study=world.study, level=LockLevel.OPEN, reason="", actor=world.statistician
        )
    lock(world, LockLevel.OPEN, reason="Late query answered by site S01, reopened")
    assert world.study.lock_level == LockLevel.OPEN
    responses = submit(fresh(world.participant_b))
    assert len(responses) == 2


def test_exports_and_the_summary_made_before_the_hard_lock_say_interim(locking, client):
    world = locking
    submit(world.participant_a)

    def manifest():
        export = export_start(
            user=world.statistician,
            request=ExportRequest(study=world.study, kinds=("long", "dictionary"), blinded=False),
        )
        return json.loads(
            zipfile.ZipFile(io.BytesIO(b"".join(export.chunks))).read("manifest.json")
        )

    client.force_login(world.statistician)
    page = client.get(reverse("admin:arm_summary_study", args=[world.study.code]))
    assert "Interim" in page.content.decode()
    assert manifest()["data_status"] == "interim"
    lock(world, LockLevel.SOFT)
    assert manifest()["data_status"] == "interim"
    lock(world, LockLevel.HARD)
    final = manifest()
    assert final["data_status"] == "final"
    assert final["study_lock"]["level"] == "hard"
    page = client.get(reverse("admin:arm_summary_study", args=[world.study.code]))
    text = page.content.decode()
    assert "Interim" not in text and "hard-locked" in text


def test_the_lock_page_takes_a_proposal_and_a_second_persons_confirmation(locking, client):
    world = locking
    url = reverse("admin:study_lock")
    client.force_login(world.statistician)
    page = client.post(url, {"study": world.study.code, "level": "hard", "reason": ""})
    assert "Give the reason" in page.content.decode() or "give a reason" in page.content.decode()
    assert not StudyLockChange.objects.exists()
    client.post(url, {"study": world.study.code, "level": "hard", "reason": REASON})
    change = StudyLockChange.objects.get()
    page = client.get(url).content.decode()
    assert "You proposed this change" in page
    page = client.post(url, {"change": change.pk, "decision": "confirm"}, follow=True)
    assert "second person" in page.content.decode()
    assert Study.objects.get(pk=world.study.pk).lock_level == LockLevel.OPEN

    client.force_login(world.statistician2)
    client.post(url, {"change": change.pk, "decision": "confirm"})
    assert Study.objects.get(pk=world.study.pk).lock_level == LockLevel.HARD
    page = client.get(url).content.decode()
    assert "Hard lock (nothing changes)" in page and REASON in page


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "admin", "outsider"])
def test_the_lock_page_does_not_exist_for_anyone_else(locking, client, who):
    client.force_login(getattr(locking, who))
    assert client.get(reverse("admin:study_lock")).status_code == 404
    response = client.post(
        reverse("admin:study_lock"),
        {"study": locking.study.code, "level": "hard", "reason": REASON},
    )
    assert response.status_code == 404
    assert not StudyLockChange.objects.exists()


def test_a_locked_study_sends_no_reminders(locking, mailoutbox):
    world = locking
    assessment_open(world.participant_a)
    lock(world, LockLevel.SOFT)
    reminders_dispatch(now=timezone.now())
    assert not ReminderLog.objects.filter(participant__study=world.study).exists()
    assert mailoutbox == []
    lock(world, LockLevel.OPEN, reason="Reopened for the late period 1 entries")
    reminders_dispatch(now=timezone.now())  # the control: open again, she is reminded
    assert ReminderLog.objects.filter(participant=world.participant_a).exists()
