"""Reasoned corrections by site staff. Submitted answers are never edited in place: a
correction, or a transcribed paper questionnaire, is a new Response with actor, time and
reason; the one it supersedes stays as it was, visible in the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from diary import access
from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    Participant,
    Response,
    ResponseSource,
)
from diary.rules.local_time import local_date
from diary.selectors.questionnaire import modules_collected
from diary.services.audit import audit_record
from diary.services.study_lock import CORRECTION, ENTRY, study_lock_check
from scoring.definitions import AnswersInvalid, answers_validate, instrument_get
from scoring.selectors import structure_for
from scoring.services import response_score_queue

MIN_REASON_LENGTH = 10


def _check_may_correct(actor: AbstractBaseUser, participant: Participant) -> None:
    """Only staff who may correct at the participant's site (diary.access.may_correct)."""
    if not access.may_correct(actor, participant):
        raise PermissionDenied("You may not enter or correct answers at this participant's site.")


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationError(f"A reason of at least {MIN_REASON_LENGTH} characters is required.")
    return reason


def _validated(key: str, version: str, answers: Mapping[str, Any], study) -> dict:
    try:
        return answers_validate(
            structure_for(key=key, version=version),
            answers,
            modules=modules_collected(study=study, instrument_key=key),
        )
    except AnswersInvalid as exc:
        raise ValidationError(exc.errors) from exc


def _queue_scoring(responses: list[Response]) -> None:
    transaction.on_commit(
        partial(response_score_queue, response_ids=[r.pk for r in responses]), robust=True
    )


@transaction.atomic
def response_correct(
    *,
    response: Response,
    answers: Mapping[str, Any],
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> Response:
    """Supersede the current response with corrected answers; returns the new one.

    Raises PermissionDenied unless the actor may correct at the participant's site, and
    ValidationError for a missing reason, invalid codes, no change, or a response that has
    already been superseded (correct the latest one).
    """
    now = now or timezone.now()
    current = Response.objects.select_related("assessment__participant__study").get(pk=response.pk)
    # Two corrections of one response wait for each other on its assessment's row, as
    # transcriptions do: a response row cannot be locked, since locking needs the UPDATE
    # privilege, which the application role has on no append-only table (diary/enforcement.py).
    Assessment.objects.select_for_update(no_key=True).get(pk=current.assessment_id)
    participant = current.assessment.participant
    _check_may_correct(actor, participant)
    study_lock_check(participant.study, CORRECTION)
    reason = _check_reason(reason)
    if Response.objects.filter(supersedes=current).exists():
        raise ValidationError("This response has already been corrected; correct the latest one.")
    answers = _validated(
        current.instrument_key, current.instrument_version, answers, participant.study
    )
    if answers == current.answers:
        raise ValidationError("The corrected answers are the same as the current ones.")
    corrected = Response.objects.create(
        assessment=current.assessment,
        instrument_key=current.instrument_key,
        instrument_version=current.instrument_version,
        instrument_hash=current.instrument_hash,
        answers=answers,
        metadata={"corrects": current.pk},
        submitted_at=now,
        submitted_by=actor,
        source=ResponseSource.SITE_CORRECTION,
        reason=reason,
        supersedes=current,
    )
    changed = sorted(k for k in answers if answers[k] != current.answers.get(k))
    audit_record(
        action=AuditAction.CORRECTED,
        actor=actor,
        participant=participant,
        obj=corrected,
        reason=reason,
        occurred_at=now,
        details={
            "supersedes": current.pk,
            "changes": {k: [current.answers.get(k), answers[k]] for k in changed},
        },
    )
    _queue_scoring([corrected])
    return corrected


@transaction.atomic
def assessment_transcribe(
    *,
    assessment: Assessment,
    answers: Mapping[str, Mapping[str, Any]],
    completed_on: date,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> list[Response]:
    """Enter a paper questionnaire the participant completed inside the window.

    `completed_on` is the date she filled in the paper form (her local date); it must fall in
    the assessment's window, so paper cannot back-fill a missed window. Raises as
    response_correct does, and when responses already exist (correct those instead).
    """
    now = now or timezone.now()
    locked = (
        Assessment.objects.select_for_update(no_key=True)
        .select_related("participant__study")
        .get(pk=assessment.pk)
    )
    participant = locked.participant
    _check_may_correct(actor, participant)
    study_lock_check(participant.study, ENTRY)
    reason = _check_reason(reason)
    if locked.responses.exists():
        raise ValidationError("Answers already exist for this questionnaire; correct them instead.")
    if locked.status == AssessmentStatus.EXCUSED or locked.opens_at is None:
        raise ValidationError("This questionnaire has no window to transcribe into.")
    zone = ZoneInfo(participant.time_zone)
    first, last = local_date(locked.opens_at, zone), local_date(locked.closes_at, zone)
    if not first <= completed_on <= last:
        raise ValidationError(
            f"The paper form must have been completed in the window ({first:%d %b %Y} - "
            f"{last:%d %b %Y})."
        )
    study = participant.study
    unknown = set(answers) - set(study.instruments)
    if unknown:
        raise ValidationError(f"Not collected in this study: {', '.join(sorted(unknown))}.")
    responses = []
    for key in study.instruments:
        instrument = instrument_get(key)
        responses.append(
            Response.objects.create(
                assessment=locked,
                instrument_key=key,
                instrument_version=instrument.version,
                instrument_hash=instrument.content_hash,
                answers=_validated(key, instrument.version, answers.get(key, {}), study),
                metadata={"paper_completed_on": completed_on.isoformat()},
                submitted_at=now,
                submitted_by=actor,
                source=ResponseSource.SITE_TRANSCRIPTION,
                reason=reason,
            )
        )
    locked.status = AssessmentStatus.SUBMITTED
    locked.submitted_at = now
    locked.save(update_fields=["status", "submitted_at"])
    audit_record(
        action=AuditAction.CORRECTED,
        actor=actor,
        participant=participant,
        obj=locked,
        reason=reason,
        occurred_at=now,
        details={"transcribed": [r.pk for r in responses], "paper_completed_on": str(completed_on)},
    )
    _queue_scoring(responses)
    return responses
