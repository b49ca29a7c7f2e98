"""Reads for inspectors: a participant's timeline and the filtered global log.

The timeline joins business events (AuditEvent) with the row history PostgreSQL triggers keep
(django-pghistory), old and new values included. Allocation history is left out for blinded
readers: it is never even queried for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from pghistory.models import Events

from diary import access, roles
from diary.models import UNBLINDED_ACTIONS, AuditEvent, Participant, Response


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    kind: str  # "event" (business) or "change" (row history)
    what: str
    changes: tuple[tuple[str, Any, Any], ...] = ()
    reason: str = ""
    request_id: str = ""


def _row_history(objs: list, names: dict[int, str]) -> list[TimelineEntry]:
    if not objs:
        return []
    entries = []
    for event in Events.objects.tracks(*objs).order_by("pgh_created_at"):
        context = event.pgh_context or {}
        label = event.pgh_obj_model.split(".")[-1]
        diff = event.pgh_diff or {}
        changes = tuple(
            (field, old, new)
            for field, (old, new) in sorted(diff.items())
            if field not in {"id", "pgh_id"}
        )
        entries.append(
            TimelineEntry(
                at=event.pgh_created_at,
                actor=names.get(context.get("user"), "system" if not context.get("user") else "?"),
                kind="change",
                what=f"{label} #{event.pgh_obj_id}: {event.pgh_label}",
                changes=changes,
                request_id=str(context.get("request_id", "")),
            )
        )
    return entries


def participant_timeline(*, participant: Participant, user) -> list[TimelineEntry]:
    """Everything that happened to one participant's data, oldest first."""
    events = AuditEvent.objects.filter(participant=participant).order_by("occurred_at", "id")
    unblinded = access.is_unblinded(user, participant.study)
    if not unblinded:
        events = events.exclude(action__in=UNBLINDED_ACTIONS)
    User = get_user_model()
    names = dict(User.objects.values_list("pk", "username"))
    entries = [
        TimelineEntry(
            at=e.occurred_at,
            actor=e.actor_label or "system",
            kind="event",
            what=e.get_action_display(),
            reason=e.reason,
            request_id=e.request_id,
        )
        for e in events
    ]
    entries += _row_history([participant], names)
    entries += _row_history(list(participant.periods.all()), names)
    assessments = list(participant.assessments.all())
    entries += _row_history(assessments, names)
    entries += _row_history(list(Response.objects.filter(assessment__in=assessments)), names)
    if unblinded and hasattr(participant, "allocation"):
        entries += _row_history([participant.allocation], names)
    return sorted(entries, key=lambda entry: (entry.at, entry.kind))


def audit_events_visible_to(
    user,
    *,
    action: str = "",
    subject_id: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The global log as this user may read it: her sites' participants and her studies."""
    visible = access.participants_visible_to(user)
    studies = access.studies_of(user)
    qs = AuditEvent.objects.filter(participant__in=visible) | AuditEvent.objects.filter(
        participant__isnull=True, study__in=studies
    )
    qs = qs.exclude(Q(action__in=UNBLINDED_ACTIONS) & ~Q(study__in=roles.unblinded_study_ids(user)))
    if action:
        qs = qs.filter(action=action)
    if subject_id:
        qs = qs.filter(participant__subject_id=subject_id)
    if since:
        qs = qs.filter(occurred_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
        qs = qs.filter(occurred_at__lt=end)
    return qs.select_related("participant", "study").order_by("occurred_at", "id")
