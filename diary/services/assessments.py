"""Moving assessment windows through their states (the beat job)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from diary import access
from diary.models import Assessment, AssessmentStatus, AuditAction, AuditEvent, LockLevel


@transaction.atomic
def assessments_refresh_status(*, now: datetime | None = None) -> dict[str, int]:
    """Open windows whose time has come and mark closed, unsubmitted ones as missed.

    Conditional UPDATEs, so two beat processes running at once cannot double-count. A
    hard-locked study's assessments stay as they are: nothing of it changes.
    """
    now = now or timezone.now()
    unlocked = Assessment.objects.exclude(participant__study__lock_level=LockLevel.HARD)
    opened = unlocked.filter(
        status=AssessmentStatus.SCHEDULED, opens_at__lte=now, closes_at__gt=now
    ).update(status=AssessmentStatus.OPEN)
    missed_ids = list(
        unlocked.select_for_update(no_key=True, skip_locked=True, of=("self",))
        .filter(status__in=[AssessmentStatus.SCHEDULED, AssessmentStatus.OPEN], closes_at__lte=now)
        .values_list("pk", "participant_id", "participant__study_id", "period_number")
    )
    Assessment.objects.filter(pk__in=[row[0] for row in missed_ids]).update(
        status=AssessmentStatus.MISSED
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            occurred_at=now,
            action=AuditAction.MISSED,
            study_id=study_id,
            participant_id=participant_id,
            object_type=Assessment._meta.label,
            object_id=str(pk),
            details={"period": period_number},
            unblinded=access.audit_event_unblinded(AuditAction.MISSED),
        )
        for pk, participant_id, study_id, period_number in missed_ids
    )
    return {"opened": opened, "missed": len(missed_ids)}
