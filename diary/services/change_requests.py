"""A participant's requests to change an answer, and the site's decision on them.

She asks from her history ("this answer is wrong", with a reason); the request goes to her
site. A coordinator or investigator there (diary.access.may_decide_change) accepts it by
entering the corrected value, which is a correction through diary.services.corrections
(reason, old and new value, supersedes), or declines it with a reason. Every step is audited
in its own transaction; a refusal raises ChangeRequestRefused (or PermissionDenied) and stores
nothing. The sponsor's side (monitor, statistician, study admin) holds neither permission.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from diary import access
from diary.models import (
    Assessment,
    AuditAction,
    ChangeRequestStatus,
    DataChangeRequest,
    Participant,
    Response,
)
from diary.rules.casebook import late_by
from diary.selectors.casebook import current_response
from diary.services.audit import audit_record
from diary.services.corrections import response_correct

REASON_LIMIT = 1000


class ChangeRequestRefused(ValidationError):
    """A request or decision that cannot be made; the message says why."""


def _text(value: str, what: str, *, limit: int = REASON_LIMIT) -> str:
    text = (value or "").strip()
    if not text:
        raise ChangeRequestRefused(f"Write {what}: it cannot be empty.")
    if len(text) > limit:
        raise ChangeRequestRefused(f"{what.capitalize()} is too long: at most {limit} characters.")
    return text


@transaction.atomic
def change_request_make(
    *,
    participant: Participant,
    response: Response,
    item_key: str,
    reason: str,
    now: datetime | None = None,
) -> DataChangeRequest:
    """She asks her site to change one of her answers. Raises PermissionDenied when the
    response is not hers, and ChangeRequestRefused for an empty or long reason, an item the
    response does not hold, a response since corrected (ask about the current one), or an
    answer already waiting for a decision. Audited as CHANGE_REQUESTED."""
    now = now or timezone.now()
    response = Response.objects.select_related("assessment").get(pk=response.pk)
    if response.assessment.participant_id != participant.pk:
        raise PermissionDenied("Not her response.")
    # Her requests and the site's decisions on them wait for each other on her row.
    Participant.objects.select_for_update(no_key=True, of=("self",)).get(pk=participant.pk)
    text = _text(reason, "a reason")
    if item_key not in response.answers:
        raise ChangeRequestRefused("That question is not in this questionnaire.")
    if Response.objects.filter(supersedes=response).exists():
        raise ChangeRequestRefused("This answer has been changed since; look at it again.")
    if DataChangeRequest.objects.filter(
        response=response, item_key=item_key, status=ChangeRequestStatus.PENDING
    ).exists():
        raise ChangeRequestRefused(
            "You have already asked about this answer; your site will reply."
        )
    request = DataChangeRequest.objects.create(
        study_id=participant.study_id,
        site_id=participant.site_id,
        participant=participant,
        response=response,
        item_key=item_key,
        value_seen=response.answers[item_key],
        reason=text,
        requested_by=participant.user,
        requested_at=now,
    )
    audit_record(
        action=AuditAction.CHANGE_REQUESTED,
        actor=participant.user,
        participant=participant,
        obj=request,
        reason=text,
        occurred_at=now,
        details={"request": request.pk, "response": response.pk, "item": item_key},
    )
    return request


def _locked_pending(request: DataChangeRequest, actor: AbstractBaseUser) -> DataChangeRequest:
    """The request, its participant's row locked first (as change_request_make locks it), then
    checked: the actor decides at her site, and it is still pending."""
    participant = Participant.objects.select_for_update(no_key=True, of=("self",)).get(
        pk=request.participant_id
    )
    locked = DataChangeRequest.objects.select_related("response__assessment").get(pk=request.pk)
    if not access.may_decide_change(actor, participant):
        raise PermissionDenied("You may not decide change requests at this participant's site.")
    if locked.status != ChangeRequestStatus.PENDING:
        raise ChangeRequestRefused(
            f"Change request {locked.pk} has already been decided ({locked.get_status_display()})."
        )
    locked.participant = participant
    return locked


@transaction.atomic
def change_request_accept(
    *,
    request: DataChangeRequest,
    new_value: Any,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> DataChangeRequest:
    """Accept her request by correcting the answer she named to `new_value`: a correction of
    the response that now stands (response_correct: its reason, old and new value, supersedes),
    in the same transaction. Raises PermissionDenied outside the actor's site,
    ChangeRequestRefused for a decided request or an empty reason, and the correction's own
    ValidationError (an invalid code, no change). Audited as CHANGE_ACCEPTED with how long
    after the window closed the change was made."""
    now = now or timezone.now()
    locked = _locked_pending(request, actor)
    text = _text(reason, "the reason for the correction")
    # Her assessment's row is the correction's lock; taken here, before any write.
    Assessment.objects.select_for_update(no_key=True, of=("self",)).get(
        pk=locked.response.assessment_id
    )
    standing = current_response(response=locked.response)
    answers = {**standing.answers, locked.item_key: new_value}
    corrected = response_correct(
        response=standing,
        answers=answers,
        reason=f"Change request {locked.pk} from the participant: {locked.reason} -- {text}",
        actor=actor,
        now=now,
    )
    locked.status = ChangeRequestStatus.ACCEPTED
    locked.decided_by = actor
    locked.decided_at = now
    locked.decision_reason = text
    locked.correction = corrected
    locked.save(
        update_fields=["status", "decided_by", "decided_at", "decision_reason", "correction"]
    )
    delay = late_by(closes_at=locked.response.assessment.closes_at, changed_at=now)
    audit_record(
        action=AuditAction.CHANGE_ACCEPTED,
        actor=actor,
        participant=locked.participant,
        obj=locked,
        reason=text,
        occurred_at=now,
        details={
            "request": locked.pk,
            "item": locked.item_key,
            "old": standing.answers.get(locked.item_key),
            "new": corrected.answers.get(locked.item_key),
            "correction": corrected.pk,
            "supersedes": standing.pk,
            "late_by_seconds": int(delay.total_seconds()) if delay else 0,
        },
    )
    return locked


@transaction.atomic
def change_request_decline(
    *,
    request: DataChangeRequest,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> DataChangeRequest:
    """Decline her request with a reason she reads on her history. Raises as
    change_request_accept does. Audited as CHANGE_DECLINED."""
    now = now or timezone.now()
    locked = _locked_pending(request, actor)
    text = _text(reason, "the reason for declining")
    locked.status = ChangeRequestStatus.DECLINED
    locked.decided_by = actor
    locked.decided_at = now
    locked.decision_reason = text
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit_record(
        action=AuditAction.CHANGE_DECLINED,
        actor=actor,
        participant=locked.participant,
        obj=locked,
        reason=text,
        occurred_at=now,
        details={"request": locked.pk, "item": locked.item_key},
    )
    return locked
