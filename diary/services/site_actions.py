"""What site staff do to a participant's record: withdraw her, excuse a missed assessment.

Each is one audited transaction; callers check the user's permission and site scope.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    Invitation,
    Participant,
    ParticipantStatus,
)
from diary.services.audit import audit_record
from diary.services.study_lock import CHANGE, study_lock_check_id


@transaction.atomic
def participant_withdraw(
    *,
    participant: Participant,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> Participant:
    """Withdraw her from the study: she can no longer log in to the diary, and her unused
    links are revoked. What she submitted stays. Raises ValidationError without a reason or
    when she is already withdrawn."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ValidationError("A reason is required to withdraw a participant.")
    participant = Participant.objects.select_for_update(no_key=True).get(pk=participant.pk)
    study_lock_check_id(participant.study_id, CHANGE)
    if participant.status == ParticipantStatus.WITHDRAWN:
        raise ValidationError(f"{participant} is already withdrawn.")
    participant.status = ParticipantStatus.WITHDRAWN
    participant.withdrawn_at = now
    participant.withdrawal_reason = reason
    participant.save(update_fields=["status", "withdrawn_at", "withdrawal_reason"])
    Invitation.objects.filter(
        participant=participant, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    audit_record(
        action=AuditAction.WITHDRAWN,
        actor=actor,
        participant=participant,
        obj=participant,
        reason=reason,
        occurred_at=now,
    )
    return participant


@transaction.atomic
def assessment_excuse(
    *,
    assessment: Assessment,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> Assessment:
    """Excuse a missed assessment (it then leaves the compliance denominator). Only a missed
    one: an open window can still be filled in, a submitted one needs no excuse."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ValidationError("A reason is required to excuse an assessment.")
    assessment = (
        Assessment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("participant")
        .get(pk=assessment.pk)
    )
    study_lock_check_id(assessment.participant.study_id, CHANGE)
    if assessment.status != AssessmentStatus.MISSED:
        raise ValidationError(
            f"Only a missed assessment can be excused ({assessment} is "
            f"{assessment.get_status_display().lower()})."
        )
    assessment.status = AssessmentStatus.EXCUSED
    assessment.excused_reason = reason
    assessment.save(update_fields=["status", "excused_reason"])
    audit_record(
        action=AuditAction.EXCUSED,
        actor=actor,
        participant=assessment.participant,
        obj=assessment,
        reason=reason,
        occurred_at=now,
        details={"period": assessment.period_number},
    )
    return assessment
