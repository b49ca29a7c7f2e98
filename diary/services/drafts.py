"""Saving answers as the participant goes, and submitting them from the draft."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diary.models import Assessment, AuditAction, Participant, Response, ResponseDraft
from diary.services.assessments import (
    assessment_submit_locked,
    modules_for,
    submission_check,
    submission_refusal,
)
from diary.services.audit import audit_record
from diary.services.submission_write import assessment_lock
from scoring.definitions import Item, instrument_get


class DraftRefused(ValidationError):
    """The draft cannot be changed now (submitted, or outside the window); the message says why."""


@dataclass
class DraftSaveResult:
    draft: ResponseDraft
    # One message per refused answer, starting with the variable; the other answers were kept.
    errors: list[str] = field(default_factory=list)


def _locked(assessment: Assessment) -> tuple[Assessment, ResponseDraft | None]:
    # Lock order everywhere: assessment, then draft (assessment_submit locks the assessment).
    locked = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("participant__study")
        .get(pk=assessment.pk)
    )
    draft = ResponseDraft.objects.select_for_update().filter(assessment=locked).first()
    return locked, draft


@transaction.atomic
def draft_save(
    *,
    assessment: Assessment,
    instrument_key: str,
    answers: Mapping[str, Any],
    actor: AbstractBaseUser,
    metadata: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> DraftSaveResult:
    """Merge one page of answers (variable -> code or None) into the assessment's draft.

    Each answer is checked alone: a bad code, an unknown variable, or a module item answered
    although its gate says the module does not apply is refused with a message, and every other
    answer is kept. `metadata` is merged into the instrument's capture details. Raises
    DraftRefused when the questionnaire is submitted or its window is not open. One DRAFT_SAVED
    audit event per call that changed something.
    """
    now = now or timezone.now()
    locked, draft = _locked(assessment)
    study = locked.participant.study
    reason = submission_refusal(locked, now)
    if reason:
        raise DraftRefused(reason)
    if instrument_key not in study.instruments:
        raise DraftRefused(f"{instrument_key} is not collected in this study.")
    instrument = instrument_get(instrument_key)
    allowed = set(instrument.item_keys(modules_for(instrument_key, study.ehp30_modules)))
    if draft is None:
        draft = ResponseDraft(assessment=locked, created_at=now, updated_at=now)
    saved = draft.answers_for(instrument_key)
    errors: list[str] = []
    answered = False  # some answer of this call was kept, so capture details describe it
    for key, value in answers.items():
        if key not in allowed:
            errors.append(_("%(key)s: not a question of this questionnaire") % {"key": key})
        elif value is not None and not instrument.item(key).accepts(value):
            errors.append(
                _("%(key)s: %(value)s is not a valid answer; it was not saved")
                % {"key": key, "value": repr(value)[:40]}
                + " "
                + _expected_answer(instrument.item(key))
            )
        else:
            saved[key] = value
            answered = answered or value is not None
    if not answered:
        metadata = None  # the details of a refused answer would describe an answer not kept
    for module in instrument.modules_chosen(modules_for(instrument_key, study.ehp30_modules)):
        if saved.get(module.gate) == 0:
            for key in module.items:
                if saved.get(key) is not None:
                    errors.append(
                        _("%(key)s: not kept, because you answered that this part does not apply")
                        % {"key": key}
                    )
                    saved[key] = None
    # Compared with a missing answer counting as unanswered: a page whose only answer was
    # refused writes nothing and is not audited as a save.
    stored = draft.answers_for(instrument_key)
    changed = any(saved.get(k) != stored.get(k) for k in {*saved, *stored}) or bool(metadata)
    draft.answers = {**draft.answers, instrument_key: saved}
    if metadata:
        merged = {**draft.metadata.get(instrument_key, {}), **metadata}
        draft.metadata = {**draft.metadata, instrument_key: merged}
    if all(value is None for value in saved.values()) and instrument_key in draft.metadata:
        # A cleared answer keeps no capture details: they would describe an answer not given.
        draft.metadata = {k: v for k, v in draft.metadata.items() if k != instrument_key}
        changed = True
    if changed or draft.pk is None:
        draft.updated_at = now
        draft.save()
        audit_record(
            action=AuditAction.DRAFT_SAVED,
            actor=actor,
            participant=locked.participant,
            obj=locked,
            occurred_at=now,
            details={"instrument": instrument_key, "variables": sorted(answers)},
        )
    return DraftSaveResult(draft=draft, errors=errors)


def _expected_answer(item: Item) -> str:
    if item.kind == "integer":
        return _("Please give a whole number from %(low)s to %(high)s.") % {
            "low": item.min_value,
            "high": item.max_value,
        }
    return _("Please choose one of the answer options.")


class UnansweredNotConfirmed(ValidationError):
    """Some questions are unanswered and the participant has not confirmed leaving them so."""


def _complete(assessment: Assessment, draft: ResponseDraft | None) -> dict[str, dict[str, Any]]:
    study = assessment.participant.study
    result = {}
    for key in study.instruments:
        saved = draft.answers_for(key) if draft else {}
        keys = instrument_get(key).item_keys(modules_for(key, study.ehp30_modules))
        result[key] = {var: saved.get(var) for var in keys}
    return result


def draft_answers(*, assessment: Assessment) -> dict[str, dict[str, Any]]:
    """The saved answers per study instrument, every variable present (None = unanswered)."""
    return _complete(assessment, ResponseDraft.objects.filter(assessment=assessment).first())


@transaction.atomic
def draft_submit(
    *,
    participant: Participant,
    assessment_id: int,
    actor: AbstractBaseUser,
    confirm_unanswered: bool = False,
    now: datetime | None = None,
) -> list[Response]:
    """Submit the draft's answers of the participant's assessment `assessment_id`, exactly once.

    Unanswered items are submitted as not answered (None), as on paper, once the participant
    has confirmed leaving them (`confirm_unanswered`); otherwise UnansweredNotConfirmed is
    raised. Raises Assessment.DoesNotExist when the assessment is not hers or has no window
    yet, AlreadySubmitted (a double click, a second tab, a replayed POST), SubmissionRefused
    (window not open: the draft is left as it was) or ValidationError (invalid answers).
    Nothing is stored when it raises.

    One transaction: the assessment row is locked with its draft read in the same statement
    (submission_write.assessment_lock), then assessment_submit_locked stores the responses and
    stamps the draft as submitted.
    """
    now = now or timezone.now()
    locked, draft = assessment_lock(participant_id=participant.pk, assessment_id=assessment_id)
    locked.participant = participant  # her study comes with her (no second query)
    submission_check(locked, now)
    answers = _complete(locked, draft)
    unanswered = sum(v is None for values in answers.values() for v in values.values())
    if unanswered and not confirm_unanswered:
        raise UnansweredNotConfirmed(
            _(
                "Please confirm that you want to leave these questions unanswered, "
                "or go back and answer them."
            )
        )
    return assessment_submit_locked(
        locked=locked,
        answers=answers,
        actor=actor,
        metadata=draft.metadata if draft is not None else {},
        now=now,
    )
