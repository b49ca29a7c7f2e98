"""Withdrawing a participant and excusing a missed assessment."""

import pytest
from django.core.exceptions import ValidationError

from diary.models import AssessmentStatus, AuditAction, AuditEvent, Invitation, ParticipantStatus
from diary.services.invitations import invitation_send
from diary.services.site_actions import assessment_excuse, participant_withdraw

pytestmark = pytest.mark.django_db


def test_withdrawal_records_reason_revokes_links_and_audits(world):
    participant = world.participant_a
    invitation_send(participant=participant, actor=world.coordinator1)
    participant_withdraw(participant=participant, reason="Moved abroad", actor=world.coordinator1)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.WITHDRAWN
    assert participant.withdrawal_reason == "Moved abroad"
    assert not Invitation.objects.filter(participant=participant, revoked_at__isnull=True).exists()
    event = AuditEvent.objects.get(action=AuditAction.WITHDRAWN)
    assert (event.actor, event.reason) == (world.coordinator1, "Moved abroad")


def test_withdrawal_needs_a_reason(world):
    with pytest.raises(ValidationError, match="reason is required"):
        participant_withdraw(participant=world.participant_a, reason="  ", actor=world.coordinator1)


def test_withdrawing_twice_is_refused(world):
    participant_withdraw(participant=world.participant_a, reason="x", actor=world.coordinator1)
    with pytest.raises(ValidationError, match="already withdrawn"):
        participant_withdraw(participant=world.participant_a, reason="y", actor=world.coordinator1)


def test_only_a_missed_assessment_can_be_excused(world):
    assessment = world.participant_a.assessments.get(period_number=1)
    with pytest.raises(ValidationError, match="Only a missed assessment"):
        assessment_excuse(assessment=assessment, reason="ill", actor=world.coordinator1)
    world.participant_a.assessments.filter(pk=assessment.pk).update(status=AssessmentStatus.MISSED)
    assessment_excuse(assessment=assessment, reason="In hospital", actor=world.coordinator1)
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.EXCUSED
    assert assessment.excused_reason == "In hospital"
    event = AuditEvent.objects.get(action=AuditAction.EXCUSED)
    assert event.reason == "In hospital" and event.details == {"period": 1}


def test_excusing_needs_a_reason(world):
    assessment = world.participant_a.assessments.get(period_number=1)
    world.participant_a.assessments.filter(pk=assessment.pk).update(status=AssessmentStatus.MISSED)
    with pytest.raises(ValidationError, match="reason is required"):
        assessment_excuse(assessment=assessment, reason="", actor=world.coordinator1)
