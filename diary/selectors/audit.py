"""Reads for inspectors: a participant's timeline and the filtered global log.

The timeline joins business events (AuditEvent) with the row history PostgreSQL triggers keep
(django-pghistory), old and new values included. Allocation history is left out for blinded
readers: it is never even queried for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from pghistory.models import Events

from diary import access
from diary.models import AuditEvent, Participant, Response
from diary.rules.local_time import local_midnight

# The audit filters take whole days of UTC, as the log prints its times.
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    kind: str  # "event" (business) or "change" (row history)
    what: str
    changes: tuple[tuple[str, Any, Any], ...] = ()
    reason: str = ""
    request_id: str = ""


def _row_events(objs: list) -> list:
    return list(Events.objects.tracks(*objs).order_by("pgh_created_at")) if objs else []


def _change_entry(event, names: dict[int, str]) -> TimelineEntry:
    context = event.pgh_context or {}
    user_id = context.get("user")
    diff = event.pgh_diff or {}
    return TimelineEntry(
        at=event.pgh_created_at,
        actor=names.get(user_id, "?") if user_id else "system",
        kind="change",
        what=f"{event.pgh_obj_model.split('.')[-1]} #{event.pgh_obj_id}: {event.pgh_label}",
        changes=tuple(
            (field, old, new)
            for field, (old, new) in sorted(diff.items())
            if field not in {"id", "pgh_id"}
        ),
        request_id=str(context.get("request_id", "")),
    )


def participant_timeline(*, participant: Participant, user) -> list[TimelineEntry]:
    """Everything that happened to one participant's data, oldest first."""
    # Her events as the access policy lets this user read them (unblinded ones only where
    # she is unblinded), as on every other view of the trail.
    events = (
        access.audit_events_where(user, access.AUDIT_TRAIL)
        .filter(participant=participant)
        .order_by("occurred_at", "id")
    )
    unblinded = access.is_unblinded(user, participant.study)
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
    assessments = list(participant.assessments.all())
    changes = (
        _row_events([participant])
        + _row_events(list(participant.periods.all()))
        + _row_events(assessments)
        + _row_events(list(Response.objects.filter(assessment__in=assessments)))
    )
    if unblinded and hasattr(participant, "allocation"):
        changes += _row_events([participant.allocation])
    # Names of only the users the history mentions.
    user_ids = {(e.pgh_context or {}).get("user") for e in changes} - {None}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    entries += [_change_entry(event, names) for event in changes]
    return sorted(entries, key=lambda entry: (entry.at, entry.kind))


def _filtered(
    qs: QuerySet[AuditEvent],
    *,
    action: str = "",
    subject_id: str = "",
    actor: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    if action:
        qs = qs.filter(action=action)
    if subject_id:
        qs = qs.filter(participant__subject_id=subject_id)
    if actor:
        qs = qs.filter(actor_label__iexact=actor)
    if since:
        qs = qs.filter(occurred_at__gte=local_midnight(since, _UTC))
    if until and until < date.max:  # the calendar's last day has no next one: no end then
        qs = qs.filter(occurred_at__lt=local_midnight(until + timedelta(days=1), _UTC))
    return qs.select_related("participant", "study")


def audit_events_visible_to(
    user,
    *,
    action: str = "",
    subject_id: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The global log as this user may read it (diary.access.audit_events_where), filtered,
    oldest first."""
    qs = access.audit_events_where(user, access.AUDIT_TRAIL)
    return _filtered(qs, action=action, subject_id=subject_id, since=since, until=until).order_by(
        "occurred_at", "id"
    )


def system_audit_events(
    user,
    *,
    action: str = "",
    actor: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The system audit view as this user may read it (diary.access.system_audit_events_where:
    the events of no study, and those her study roles show her), filtered, newest first."""
    qs = access.system_audit_events_where(user)
    return _filtered(qs, action=action, actor=actor, since=since, until=until).order_by(
        "-occurred_at", "-id"
    )
