"""Writing business events to the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.utils import timezone

from diary import access
from diary.models import AuditAction, AuditEvent, Participant, Study
from diary.request_context import current_client_request_id, current_request_id


def audit_record(**event: Any) -> AuditEvent:
    """Append one business event, given as audit_event's keyword arguments. Call inside the
    transaction of the action it records."""
    recorded = audit_event(**event)
    recorded.save(force_insert=True)
    return recorded


def audit_event(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    study: Study | None = None,
    participant: Participant | None = None,
    obj: models.Model | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    unblinded: bool | None = None,
) -> AuditEvent:
    """A business event, not yet saved: audit_record saves it; a caller that writes it in a
    statement of its own (diary.services._submission_sql) takes it as it is.

    Who may read it is stamped now, from the access policy's classification of the action
    (diary.access.audit_event_unblinded): `unblinded` declares whether anything in it was
    computed from unblinded content, and is required of the actions whose blinding depends on
    it (exports); ValueError otherwise, before anything is stored.

    The request id is the server's (RequestIdMiddleware); an X-Request-ID the client sent is
    added to the details as `client_request_id`."""
    user = actor if actor is not None and actor.is_authenticated else None
    details = dict(details or {})
    if client_request_id := current_client_request_id.get():
        # What the client claimed its request id was: kept, never used as the event's own.
        details["client_request_id"] = client_request_id
    if participant is not None and study is None:
        study = participant.study
    return AuditEvent(
        occurred_at=occurred_at or timezone.now(),
        actor=user,
        actor_label=user.get_username() if user is not None else "",
        action=action,
        study=study,
        participant=participant,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        reason=reason,
        details=details,
        request_id=current_request_id.get(),
        unblinded=access.audit_event_unblinded(action, unblinded=unblinded),
    )
