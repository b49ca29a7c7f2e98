"""Saving answers as the participant goes; diary.services.submission submits them."""

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

from diary.models import Assessment, AuditAction, ResponseDraft
from diary.selectors.questionnaire import modules_collected
from diary.services.audit import audit_record
from diary.services.study_lock import ENTRY, study_lock_refusal
from diary.services.submission import submission_refusal
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
        Assessment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("participant__study")
        .get(pk=assessment.pk)
    )
    draft = ResponseDraft.objects.select_for_update(no_key=True).filter(assessment=locked).first()
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
    device_time: datetime | None = None,
) -> DraftSaveResult:
    """Merge one page of answers (variable -> code or None) into the assessment's draft.

    Each answer is checked alone: a bad code, an unknown variable, or a module item answered
    although its gate says the module does not apply is refused with a message, and every other
    answer is kept. `metadata` is merged into the instrument's capture details. Raises
    DraftRefused when the questionnaire is submitted or its window is not open. One DRAFT_SAVED
    audit event per call that changed something, naming the variables posted and those whose
    earlier answer was replaced or cleared (`revised`).

    Honest time: every answer this call changes gets, in the instrument's capture details
    (`answer_times`), the server's receipt time `now`, the device's claimed `device_time` (None
    when the page sent none) and their difference in seconds (device minus server). An answer
    sent again unchanged (an outbox entry replayed) changes nothing and is not stamped again.
    """
    now = now or timezone.now()
    locked, draft = _locked(assessment)
    study = locked.participant.study
    reason = submission_refusal(locked, now) or study_lock_refusal(study, ENTRY)
    if reason:
        raise DraftRefused(reason)
    if instrument_key not in study.instruments:
        raise DraftRefused(f"{instrument_key} is not collected in this study.")
    instrument = instrument_get(instrument_key)
    allowed = set(
        instrument.item_keys(modules_collected(study=study, instrument_key=instrument_key))
    )
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
    for module in instrument.modules_chosen(
        modules_collected(study=study, instrument_key=instrument_key)
    ):
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
    # Answers she had given and now replaced or cleared: the "answers changed repeatedly"
    # data-quality signal counts them (diary.selectors.signals).
    revised = sorted(
        k for k in {*saved, *stored} if stored.get(k) is not None and saved.get(k) != stored.get(k)
    )
    draft.answers = {**draft.answers, instrument_key: saved}
    changed_keys = [k for k in sorted(saved) if saved.get(k) != stored.get(k)]
    stamped = _answer_times(changed_keys, now=now, device_time=device_time)
    if stamped:
        details = draft.metadata.get(instrument_key, {})
        times = {**details.get("answer_times", {}), **stamped}
        draft.metadata = {**draft.metadata, instrument_key: {**details, "answer_times": times}}
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
            details={
                "instrument": instrument_key,
                "variables": sorted(answers),
                "revised": revised,
            },
        )
    return DraftSaveResult(draft=draft, errors=errors)


def _answer_times(
    keys: list[str], *, now: datetime, device_time: datetime | None
) -> dict[str, dict[str, Any]]:
    difference = None if device_time is None else round((device_time - now).total_seconds(), 3)
    stamp = {
        "received_at": now.isoformat(),
        "device_at": None if device_time is None else device_time.isoformat(),
        "difference_seconds": difference,
    }
    return {key: dict(stamp) for key in keys}


def _expected_answer(item: Item) -> str:
    if item.kind == "integer":
        return _("Please give a whole number from %(low)s to %(high)s.") % {
            "low": item.min_value,
            "high": item.max_value,
        }
    return _("Please choose one of the answer options.")


def _complete(assessment: Assessment, draft: ResponseDraft | None) -> dict[str, dict[str, Any]]:
    study = assessment.participant.study
    result = {}
    for key in study.instruments:
        saved = draft.answers_for(key) if draft else {}
        keys = instrument_get(key).item_keys(modules_collected(study=study, instrument_key=key))
        result[key] = {var: saved.get(var) for var in keys}
    return result


def draft_answers(*, assessment: Assessment) -> dict[str, dict[str, Any]]:
    """The saved answers per study instrument, every variable present (None = unanswered)."""
    return _complete(assessment, ResponseDraft.objects.filter(assessment=assessment).first())
