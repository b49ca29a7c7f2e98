"""Honest time at submission, and late entries: kept when they arrive after the window closed,
accepted (counted late) or declined by the site, never counted as on time by themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    AuditEvent,
    LateEntry,
    LateEntryStatus,
    Participant,
    Response,
)
from diary.selectors.compliance import compliance_by_participant
from diary.services.drafts import draft_save
from diary.services.late_entries import AlreadyKept, late_entry_keep, late_entry_review
from diary.services.submission import ArrivedLate, assessment_submit
from tests.diary.journey import open_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture
def closing(world):
    """Her questionnaire, answered in full a minute before its window closes."""
    participant = world.participant_a
    assessment = open_assessment(participant)
    started = timezone.now()
    closes = started + timedelta(minutes=1)
    Assessment.objects.filter(pk=assessment.pk).update(closes_at=closes)
    assessment.refresh_from_db()
    for key in participant.study.instruments:
        answers = {"vas_dysmenorrhea": 40} if key == "vas_dysmenorrhea" else {}
        if key == "ehp30":
            answers = {f"ehp30_q{n:02d}": 1 for n in range(1, 31)}
        draft_save(
            assessment=assessment,
            instrument_key=key,
            answers=answers,
            actor=participant.user,
            now=started,
        )
    return assessment


def submit(assessment, *, received, device):
    participant = assessment.participant
    return assessment_submit(
        participant=participant,
        assessment_id=assessment.pk,
        actor=participant.user,
        confirm_unanswered=True,
        now=received,
        device_time=device,
    )


def counts(participant: Participant, now) -> tuple[int, int, int]:
    row = compliance_by_participant(
        participants=Participant.objects.filter(pk=participant.pk), now=now
    ).get()
    return row.submitted, row.late, row.missed


def test_a_submission_in_the_window_records_both_clocks_and_their_difference(closing):
    received = closing.closes_at - timedelta(seconds=20)
    device = received - timedelta(seconds=3)
    responses = submit(closing, received=received, device=device)
    for response in responses:
        assert response.metadata["submission_time"] == {
            "received_at": received.isoformat(),
            "device_at": device.isoformat(),
            "difference_seconds": -3.0,
        }
    assert counts(closing.participant, received + timedelta(days=9)) == (1, 0, 0)


def test_pressed_just_before_the_close_and_received_just_after_is_accepted_as_on_time(closing):
    device = closing.closes_at - timedelta(seconds=5)
    received = closing.closes_at + timedelta(seconds=25)
    responses = submit(closing, received=received, device=device)
    assert len(responses) == 2
    assert all(r.submitted_at == received for r in responses)  # the server's receipt, honestly
    assert "accepted_after_close" in responses[0].metadata["submission_time"]
    event = AuditEvent.objects.get(action=AuditAction.SUBMITTED)
    assert event.details["after_close"] is True
    assert counts(closing.participant, received + timedelta(days=9)) == (1, 0, 0)


@pytest.mark.parametrize(
    ("device_offset", "received_offset", "reason"),
    [
        (timedelta(seconds=10), timedelta(seconds=20), "device_time_after_close"),
        (-timedelta(seconds=30), timedelta(hours=2), "clocks_disagree"),  # clock set back
        (None, timedelta(seconds=20), "no_device_time"),
    ],
)
def test_a_late_submission_that_cannot_count_as_in_the_window_is_kept_not_stored(
    closing, device_offset, received_offset, reason
):
    received = closing.closes_at + received_offset
    device = None if device_offset is None else closing.closes_at + device_offset
    with pytest.raises(ArrivedLate) as refused:
        submit(closing, received=received, device=device)
    assert refused.value.reason == reason
    assert not Response.objects.exists()
    entry = late_entry_keep(
        participant=closing.participant,
        assessment_id=closing.pk,
        actor=closing.participant.user,
        device_time=device,
        confirm_unanswered=True,
        now=received,
    )
    assert (entry.status, entry.reason, entry.received_at) == ("pending", reason, received)
    assert entry.answers["vas_dysmenorrhea"] == {"vas_dysmenorrhea": 40}
    closing.refresh_from_db()
    assert closing.status == AssessmentStatus.OPEN  # not submitted
    assert not Response.objects.exists()
    kept = AuditEvent.objects.get(action=AuditAction.LATE_ENTRY_KEPT)
    assert kept.details["reason"] == reason and kept.unblinded is False
    # Waiting for review, it is no submission: the questionnaire counts missed.
    assert counts(closing.participant, received + timedelta(days=1)) == (0, 0, 1)


def kept(closing) -> LateEntry:
    received = closing.closes_at + timedelta(hours=3)
    return late_entry_keep(
        participant=closing.participant,
        assessment_id=closing.pk,
        actor=closing.participant.user,
        device_time=received,
        confirm_unanswered=True,
        now=received,
    )


def test_a_second_press_keeps_no_second_entry(closing):
    kept(closing)
    with pytest.raises(AlreadyKept):
        kept(closing)
    assert LateEntry.objects.count() == 1


def test_accepted_as_documented_it_is_her_submission_counted_late(closing, world):
    entry = kept(closing)
    late_entry_review(
        entry_id=entry.pk, accept=True, reason="Phone had no signal", actor=world.coordinator1
    )
    entry.refresh_from_db()
    assert entry.status == LateEntryStatus.ACCEPTED
    assert entry.reviewed_by == world.coordinator1
    responses = list(Response.objects.filter(assessment=closing))
    assert len(responses) == 2
    assert {r.submitted_by for r in responses} == {closing.participant.user}  # she answered
    assert {r.submitted_at for r in responses} == {entry.received_at}
    assert all(r.metadata["late_entry"] == entry.pk for r in responses)
    closing.refresh_from_db()
    assert closing.status == AssessmentStatus.SUBMITTED
    event = AuditEvent.objects.get(action=AuditAction.LATE_ENTRY_ACCEPTED)
    assert event.reason == "Phone had no signal" and event.actor == world.coordinator1
    assert counts(closing.participant, entry.received_at + timedelta(days=1)) == (1, 1, 0)


def test_declined_it_stores_no_answers_and_the_questionnaire_stays_missed(closing, world):
    entry = kept(closing)
    late_entry_review(
        entry_id=entry.pk, accept=False, reason="Weeks late", actor=world.coordinator1
    )
    entry.refresh_from_db()
    assert entry.status == LateEntryStatus.DECLINED
    assert not Response.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.LATE_ENTRY_DECLINED).reason == "Weeks late"
    assert counts(closing.participant, entry.received_at + timedelta(days=1)) == (0, 0, 1)


def test_a_review_needs_a_reason_and_happens_once(closing, world):
    entry = kept(closing)
    with pytest.raises(ValidationError, match="reason"):
        late_entry_review(entry_id=entry.pk, accept=True, reason="  ", actor=world.coordinator1)
    assert LateEntry.objects.get().status == LateEntryStatus.PENDING
    late_entry_review(entry_id=entry.pk, accept=False, reason="No", actor=world.coordinator1)
    with pytest.raises(ValidationError, match="already been reviewed"):
        late_entry_review(entry_id=entry.pk, accept=True, reason="Yes", actor=world.coordinator1)
    assert not Response.objects.exists()
