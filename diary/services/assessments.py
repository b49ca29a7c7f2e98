"""Submitting an assessment's questionnaires, and moving windows through their states."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    AuditEvent,
    Response,
    ResponseSource,
)
from diary.services.audit import audit_event
from diary.services.submission_write import submission_write
from diary.windows import WindowState, window_state
from scoring.definitions import AnswersInvalid, answers_validate
from scoring.selectors import instrument_for
from scoring.services import response_score_queue


class SubmissionRefused(ValidationError):
    """The assessment cannot take a submission now; the message says why."""


class AlreadySubmitted(SubmissionRefused):
    """A second tab, a double click or a replayed POST: the questionnaire was submitted."""


def modules_for(instrument_key: str, study_modules: list[str]) -> tuple[str, ...]:
    return tuple(study_modules) if instrument_key == "ehp30" else ()


def submission_refusal(assessment: Assessment, now: datetime) -> str:
    """Why the answers of this assessment cannot change now, or "" when they can."""
    if assessment.status == AssessmentStatus.SUBMITTED:
        return _("This questionnaire has already been submitted.")
    if assessment.status in {AssessmentStatus.MISSED, AssessmentStatus.EXCUSED}:
        return _("The window for this questionnaire has closed.")
    state = window_state(now=now, opens_at=assessment.opens_at, closes_at=assessment.closes_at)
    return {
        WindowState.NOT_YET_DEFINED: _("This questionnaire opens after you report your period."),
        WindowState.BEFORE: _("This questionnaire is not open yet."),
        WindowState.CLOSED: _("The window for this questionnaire has closed."),
    }.get(state, "")


def submission_check(assessment: Assessment, now: datetime) -> None:
    """Raise AlreadySubmitted or SubmissionRefused unless the assessment takes answers now."""
    reason = submission_refusal(assessment, now)
    if assessment.status == AssessmentStatus.SUBMITTED:
        raise AlreadySubmitted(reason)
    if reason:
        raise SubmissionRefused(reason)


@transaction.atomic
def assessment_submit(
    *,
    assessment: Assessment,
    answers: Mapping[str, Mapping[str, Any]],
    actor: AbstractBaseUser,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    now: datetime | None = None,
) -> list[Response]:
    """Store the participant's answers to every instrument of the study, exactly once.

    `answers` maps instrument key -> {item variable -> code or None}. The assessment row is
    locked, so a double click, a second tab or a replayed POST cannot submit twice: the second
    attempt raises AlreadySubmitted. Refused outside the window (SubmissionRefused). Invalid
    codes raise ValidationError listing each bad variable; nothing is stored then. Scoring is
    queued after commit (scoring.services.response_score_queue).
    """
    locked = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("participant__study")
        .get(pk=assessment.pk)
    )
    return assessment_submit_locked(
        locked=locked, answers=answers, actor=actor, metadata=metadata, now=now
    )


def assessment_submit_locked(
    *,
    locked: Assessment,
    answers: Mapping[str, Mapping[str, Any]],
    actor: AbstractBaseUser,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    now: datetime | None = None,
) -> list[Response]:
    """assessment_submit for a caller whose transaction already holds the assessment's row lock
    (SELECT ... FOR UPDATE), with `locked.participant.study` loaded. Same guarantees.

    The writes (the responses, the assessment's status, the draft's stamp if she had a draft,
    the audit event) are one statement (diary.services.submission_write), and one task is queued
    for the scoring of the whole submission: a submission is the diary's busiest write.
    """
    now = now or timezone.now()
    metadata = metadata or {}
    study = locked.participant.study
    submission_check(locked, now)
    if not study.instruments:
        raise ValidationError(
            _("This study collects no questionnaires, so there is nothing to submit.")
        )
    unknown = set(answers) - set(study.instruments)
    if unknown:
        raise ValidationError(f"Not collected in this study: {', '.join(sorted(unknown))}.")

    errors: list[str] = []
    responses: list[Response] = []
    for key in study.instruments:
        # The version she was shown (licensed wording in her language when loaded): the
        # response records its version and hash; scoring maps it back to its structure.
        instrument = instrument_for(key=key, language=locked.participant.language)
        try:
            validated = answers_validate(
                instrument, answers.get(key, {}), modules=modules_for(key, study.ehp30_modules)
            )
        except AnswersInvalid as exc:
            errors.extend(exc.errors)
            continue
        responses.append(
            Response(
                assessment=locked,
                instrument_key=key,
                instrument_version=instrument.version,
                instrument_hash=instrument.content_hash,
                answers=validated,
                metadata=dict(metadata.get(key, {})),
                submitted_at=now,
                submitted_by=actor,
                source=ResponseSource.PARTICIPANT_WEB,
            )
        )
    if errors:
        raise ValidationError(errors)

    submission_write(
        assessment=locked,
        responses=responses,
        audit=audit_event(
            action=AuditAction.SUBMITTED,
            actor=actor,
            participant=locked.participant,
            obj=locked,
            occurred_at=now,
            details={"period": locked.period_number},  # and the response ids, once inserted
        ),
        now=now,
    )
    # Scored by a worker once committed; robust: a broker failure never fails a stored submission.
    transaction.on_commit(
        partial(response_score_queue, response_ids=[r.pk for r in responses]), robust=True
    )
    return responses


@transaction.atomic
def assessments_refresh_status(*, now: datetime | None = None) -> dict[str, int]:
    """Open windows whose time has come and mark closed, unsubmitted ones as missed.

    Conditional UPDATEs, so two beat processes running at once cannot double-count.
    """
    now = now or timezone.now()
    opened = Assessment.objects.filter(
        status=AssessmentStatus.SCHEDULED, opens_at__lte=now, closes_at__gt=now
    ).update(status=AssessmentStatus.OPEN)
    missed_ids = list(
        Assessment.objects.select_for_update(skip_locked=True)
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
        )
        for pk, participant_id, study_id, period_number in missed_ids
    )
    return {"opened": opened, "missed": len(missed_ids)}
