"""Submitting an assessment's questionnaires: the diary's busiest write, read top to bottom.

One public entry point, `assessment_submit`, used by the participant's review page, the demo
data and the tests alike. Its tuned SQL (the lock with the draft in one statement, the writes
in another) is the private half in diary.services._submission_sql.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    Participant,
    Response,
    ResponseDraft,
    ResponseSource,
)
from diary.rules.late import LateReason, late_submission_reason
from diary.selectors.questionnaire import (
    QuestionnaireState,
    modules_collected,
    questionnaire_state,
)
from diary.services._submission_sql import assessment_lock, submission_write
from diary.services.audit import audit_event
from diary.services.study_lock import ENTRY, study_lock_check
from scoring.definitions import AnswersInvalid, answers_validate
from scoring.selectors import instrument_for
from scoring.services import response_score_queue


class SubmissionRefused(ValidationError):
    """The assessment cannot take a submission now; the message says why."""


class AlreadySubmitted(SubmissionRefused):
    """A second tab, a double click or a replayed POST: the questionnaire was submitted."""


class ArrivedLate(SubmissionRefused):
    """The window closed before the submission arrived and it cannot count as made in it
    (`reason`, a diary.rules.late.LateReason). Nothing is stored;
    diary.services.late_entries.late_entry_keep keeps it for the site to review."""

    def __init__(self, reason: LateReason) -> None:
        super().__init__(_refusal(QuestionnaireState.CLOSED))
        self.reason = reason


class UnansweredNotConfirmed(ValidationError):
    """Some questions are unanswered and the participant has not confirmed leaving them so."""


def _refusal(state: QuestionnaireState) -> str:
    return {
        QuestionnaireState.SUBMITTED: _("This questionnaire has already been submitted."),
        QuestionnaireState.NOT_YET_DEFINED: _(
            "This questionnaire opens after you report your period."
        ),
        QuestionnaireState.BEFORE: _("This questionnaire is not open yet."),
        QuestionnaireState.CLOSED: _("The window for this questionnaire has closed."),
    }.get(state, "")


def submission_refusal(assessment: Assessment, now: datetime) -> str:
    """Why the answers of this assessment cannot change now (in the participant's words), or
    "" when they can; diary.selectors.questionnaire.questionnaire_state decides."""
    return _refusal(questionnaire_state(assessment=assessment, now=now))


def late_reason(
    assessment: Assessment,
    draft: ResponseDraft | None,
    *,
    now: datetime,
    device_time: datetime | None,
) -> LateReason | None:
    """For an assessment whose window has closed: None when a submission received `now` still
    counts as made in the window (diary.rules.late), else why not."""
    return late_submission_reason(
        closes_at=assessment.closes_at,
        draft_seen_at=draft.created_at if draft is not None else None,
        device_time=device_time,
        received_at=now,
        tolerance=settings.DEVICE_CLOCK_TOLERANCE,
    )


def submission_time(*, now: datetime, device_time: datetime | None) -> dict[str, Any]:
    """Honest time of a submission: the server's receipt, the device's claim, the difference
    (device minus server, seconds), as stored in each Response's capture details."""
    return {
        "received_at": now.isoformat(),
        "device_at": None if device_time is None else device_time.isoformat(),
        "difference_seconds": None
        if device_time is None
        else round((device_time - now).total_seconds(), 3),
    }


def submission_check(assessment: Assessment, now: datetime) -> None:
    """Raise AlreadySubmitted or SubmissionRefused unless the assessment takes answers now."""
    state = questionnaire_state(assessment=assessment, now=now)
    if state == QuestionnaireState.SUBMITTED:
        raise AlreadySubmitted(_refusal(state))
    if state != QuestionnaireState.OPEN:
        raise SubmissionRefused(_refusal(state))


@transaction.atomic
def assessment_submit(
    *,
    participant: Participant,
    assessment_id: int,
    actor: AbstractBaseUser,
    answers: Mapping[str, Mapping[str, Any]] | None = None,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    confirm_unanswered: bool = False,
    now: datetime | None = None,
    device_time: datetime | None = None,
) -> list[Response]:
    """Submit the participant's assessment `assessment_id`, exactly once.

    The answers are her saved draft's, or `answers` when given (instrument key -> {item
    variable -> code or None}, with `metadata` per instrument). Unanswered items are submitted
    as not answered (None), as on paper, once she has confirmed leaving them
    (`confirm_unanswered`); otherwise UnansweredNotConfirmed is raised.

    Raises Assessment.DoesNotExist when the assessment is not hers or has no window yet,
    AlreadySubmitted (a double click, a second tab, a replayed POST: the row lock makes the
    second attempt wait and then see the first), SubmissionRefused (window not open; a draft is
    left as it was) or ValidationError (invalid answers, one message per bad variable). Nothing
    is stored when it raises. Scoring is queued after commit; a broker failure never fails a
    stored submission.

    Honest time: each Response records the server's receipt time, the device's claimed
    `device_time` of the press and their difference (`submission_time` in its metadata). A
    submission received after the window closed is accepted only when diary.rules.late says
    it was made in the window (marked `accepted_after_close`); otherwise ArrivedLate is raised
    with the reason and nothing is stored (the view keeps it as a late entry for review).
    """
    now = now or timezone.now()
    locked, draft = assessment_lock(participant_id=participant.pk, assessment_id=assessment_id)
    locked.participant = participant  # her study comes with her (no second query)
    study = participant.study
    study_lock_check(study, ENTRY)
    after_close = (
        questionnaire_state(assessment=locked, now=now) == QuestionnaireState.CLOSED
        and locked.status != AssessmentStatus.EXCUSED
    )
    if after_close:
        reason = late_reason(locked, draft, now=now, device_time=device_time)
        if reason is not None:
            raise ArrivedLate(reason)
    else:
        submission_check(locked, now)
    if not study.instruments:
        raise ValidationError(
            _("This study collects no questionnaires, so there is nothing to submit.")
        )
    if answers is None:
        answers = draft.answers if draft is not None else {}
        metadata = draft.metadata if draft is not None else {}
    responses = responses_build(locked, answers, metadata or {}, actor=actor, now=now)
    stamp = submission_time(now=now, device_time=device_time)
    if after_close:
        stamp["accepted_after_close"] = "draft seen in the window; device time in it and agreeing"
    for response in responses:
        response.metadata = {**response.metadata, "submission_time": stamp}
    unanswered = sum(v is None for r in responses for v in r.answers.values())
    if unanswered and not confirm_unanswered:
        raise UnansweredNotConfirmed(
            _(
                "Please confirm that you want to leave these questions unanswered, "
                "or go back and answer them."
            )
        )
    submission_write(
        assessment=locked,
        responses=responses,
        audit=audit_event(
            action=AuditAction.SUBMITTED,
            actor=actor,
            participant=participant,
            obj=locked,
            occurred_at=now,
            # and the response ids, once inserted
            details={"period": locked.period_number}
            | ({"after_close": True} if after_close else {}),
        ),
        now=now,
    )
    transaction.on_commit(
        partial(response_score_queue, response_ids=[r.pk for r in responses]), robust=True
    )
    return responses


def responses_build(
    assessment: Assessment,
    answers: Mapping[str, Mapping[str, Any]],
    metadata: Mapping[str, Mapping[str, Any]],
    *,
    actor: AbstractBaseUser,
    now: datetime,
) -> list[Response]:
    """One unsaved, validated Response per instrument of the study; ValidationError listing
    every bad variable of every instrument otherwise."""
    study = assessment.participant.study
    unknown = set(answers) - set(study.instruments)
    if unknown:
        raise ValidationError(f"Not collected in this study: {', '.join(sorted(unknown))}.")
    errors: list[str] = []
    responses: list[Response] = []
    for key in study.instruments:
        # The version she was shown (licensed wording in her language when loaded): the
        # response records its version and hash; scoring maps it back to its structure.
        instrument = instrument_for(key=key, language=assessment.participant.language)
        try:
            validated = answers_validate(
                instrument,
                answers.get(key, {}),
                modules=modules_collected(study=study, instrument_key=key),
            )
        except AnswersInvalid as exc:
            errors.extend(exc.errors)
            continue
        responses.append(
            Response(
                assessment=assessment,
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
    return responses
