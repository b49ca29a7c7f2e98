"""Late entries: a submission that arrived after its window closed, kept for the site to review.

The participant's review page calls `late_entry_keep` when assessment_submit raises ArrivedLate;
a coordinator of her site decides with `late_entry_review` in the admin. Nothing here counts a
late entry as on time: kept, it is no submission at all (the assessment stays open or missed);
accepted, its Responses carry the time the server received them and `late_entry` in their
capture details, and the compliance figures count them late (diary.selectors.compliance).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    LateEntry,
    LateEntryStatus,
    Participant,
)
from diary.selectors.questionnaire import QuestionnaireState, questionnaire_state
from diary.services._submission_sql import assessment_lock, submission_write
from diary.services.audit import audit_event, audit_record
from diary.services.submission import (
    SubmissionRefused,
    UnansweredNotConfirmed,
    late_reason,
    responses_build,
    submission_check,
    submission_time,
)
from scoring.services import response_score_queue


class AlreadyKept(SubmissionRefused):
    """Her answers already wait for review: a second press changes nothing."""


@transaction.atomic
def late_entry_keep(
    *,
    participant: Participant,
    assessment_id: int,
    actor: AbstractBaseUser,
    device_time: datetime | None,
    confirm_unanswered: bool = False,
    now: datetime | None = None,
) -> LateEntry:
    """Keep her draft, submitted after the window closed, as a late entry for the site.

    The same checks as a submission: her own questionnaire (Assessment.DoesNotExist), valid
    answers (ValidationError), unanswered ones confirmed (UnansweredNotConfirmed). Raises
    SubmissionRefused when the window is not closed or the submission counts as made in it
    (assessment_submit takes it then), AlreadyKept when one already waits. One
    LATE_ENTRY_KEPT audit event; nothing is stored when it raises.
    """
    now = now or timezone.now()
    locked, draft = assessment_lock(participant_id=participant.pk, assessment_id=assessment_id)
    locked.participant = participant
    state = questionnaire_state(assessment=locked, now=now)
    if state != QuestionnaireState.CLOSED or locked.status == AssessmentStatus.EXCUSED:
        submission_check(locked, now)
        raise SubmissionRefused(_("This questionnaire is open: please submit it again."))
    reason = late_reason(locked, draft, now=now, device_time=device_time)
    if reason is None:
        raise SubmissionRefused(_("Please submit your answers again."))
    if LateEntry.objects.filter(assessment=locked, status=LateEntryStatus.PENDING).exists():
        raise AlreadyKept(_("Your answers are already kept for the study team to review."))
    answers = draft.answers if draft is not None else {}
    metadata = draft.metadata if draft is not None else {}
    responses = responses_build(locked, answers, metadata, actor=actor, now=now)  # validates
    if any(v is None for r in responses for v in r.answers.values()) and not confirm_unanswered:
        raise UnansweredNotConfirmed(
            _(
                "Please confirm that you want to leave these questions unanswered, "
                "or go back and answer them."
            )
        )
    stamp = submission_time(now=now, device_time=device_time)
    entry = LateEntry.objects.create(
        assessment=locked,
        answers={r.instrument_key: r.answers for r in responses},
        metadata=metadata,
        reason=reason.value,
        received_at=now,
        device_at=device_time,
        difference_seconds=stamp["difference_seconds"],
        submitted_by=actor,
    )
    audit_record(
        action=AuditAction.LATE_ENTRY_KEPT,
        actor=actor,
        participant=participant,
        obj=locked,
        occurred_at=now,
        details={
            "period": locked.period_number,
            "late_entry": entry.pk,
            "reason": reason.value,
            **stamp,
        },
    )
    return entry


@transaction.atomic
def late_entry_review(
    *,
    entry_id: int,
    accept: bool,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> LateEntry:
    """Accept a pending late entry as documented, or decline it, with the reviewer's reason.

    Accepting stores her answers as Responses submitted by her, stamped with the time the
    server received them (after the window: counted late, never on time), marks the
    assessment submitted and queues scoring; declining leaves the assessment as it was. One
    LATE_ENTRY_ACCEPTED or LATE_ENTRY_DECLINED audit event. The caller has checked that
    `actor` may review at her site (diary.access.may_review_late_entry). Raises
    ValidationError (no reason, already reviewed, the questionnaire meanwhile submitted or
    excused); nothing is stored then.
    """
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Please give the reason for your decision."))
    # Lock order as everywhere: the assessment, then what hangs on it.
    assessment_id = LateEntry.objects.values_list("assessment_id", flat=True).get(pk=entry_id)
    assessment = (
        Assessment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("participant__study")
        .get(pk=assessment_id)
    )
    entry = (
        LateEntry.objects.select_for_update(no_key=True, of=("self",))
        .select_related("submitted_by")
        .get(pk=entry_id)
    )
    if entry.status != LateEntryStatus.PENDING:
        raise ValidationError(_("This late entry has already been reviewed."))
    participant = assessment.participant
    details = {"period": assessment.period_number, "late_entry": entry.pk}
    if accept:
        if assessment.status in {AssessmentStatus.SUBMITTED, AssessmentStatus.EXCUSED}:
            raise ValidationError(
                _("The questionnaire is %(status)s: the late entry cannot be accepted.")
                % {"status": assessment.get_status_display().lower()}
            )
        responses = responses_build(
            assessment,
            entry.answers,
            entry.metadata,
            actor=entry.submitted_by,
            now=entry.received_at,
        )
        stamp = {
            "received_at": entry.received_at.isoformat(),
            "device_at": None if entry.device_at is None else entry.device_at.isoformat(),
            "difference_seconds": entry.difference_seconds,
        }
        for response in responses:
            response.metadata = {
                **response.metadata,
                "submission_time": stamp,
                "late_entry": entry.pk,
            }
        submission_write(
            assessment=assessment,
            responses=responses,
            audit=audit_event(
                action=AuditAction.LATE_ENTRY_ACCEPTED,
                actor=actor,
                participant=participant,
                obj=assessment,
                reason=reason,
                occurred_at=now,
                details=details,
            ),
            now=entry.received_at,
        )
        transaction.on_commit(
            partial(response_score_queue, response_ids=[r.pk for r in responses]), robust=True
        )
    else:
        audit_record(
            action=AuditAction.LATE_ENTRY_DECLINED,
            actor=actor,
            participant=participant,
            obj=assessment,
            reason=reason,
            occurred_at=now,
            details=details,
        )
    entry.status = LateEntryStatus.ACCEPTED if accept else LateEntryStatus.DECLINED
    entry.reviewed_by = actor
    entry.reviewed_at = now
    entry.review_reason = reason
    entry.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_reason"])
    return entry
