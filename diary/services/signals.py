"""The monitor's review of data-quality signals, queries to sites, and the study's thresholds.

Every write here is audited in the same transaction, so an inspector reads in the audit trail
that a review happened, by whom and when. Each function checks the access policy itself
(diary.access: permission plus a membership covering the participant's site) and raises
SignalActionRefused with a message when it does not hold or the input is bad: nothing is
stored then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from diary import access
from diary.models import (
    THRESHOLD_RANGES,
    AuditAction,
    DataQuery,
    Participant,
    QueryStatus,
    SignalKind,
    SignalReview,
    Study,
    StudySignalSettings,
)
from diary.selectors.signals import participant_signals, signal_settings_of, trail_fingerprint
from diary.services.audit import audit_record

TEXT_LIMIT = 4000


class SignalActionRefused(ValidationError):
    """A review, query or threshold change that cannot be made; the message says why."""


class SignalChanged(SignalActionRefused):
    """The signal's value is no longer the one the reviewer saw."""


def _text(value: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise SignalActionRefused(f"Write {what}: it cannot be empty.")
    if len(text) > TEXT_LIMIT:
        raise SignalActionRefused(
            f"{what.capitalize()} is too long: at most {TEXT_LIMIT} characters."
        )
    return text


def _covers(user: AbstractBaseUser, perm: str, participant: Participant) -> bool:
    return access.staff_can(user, perm, study_id=participant.study_id, site_id=participant.site_id)


def signal_value(*, participant: Participant, signal: str, now: datetime) -> str:
    """The value of one signal of hers as a review records it (the trail: its fingerprint)."""
    if signal == SignalKind.TRAIL:
        return trail_fingerprint(participant=participant)
    row = participant_signals(
        participant=participant, thresholds=signal_settings_of(participant.study), now=now
    )
    return row.value_of(signal)


@transaction.atomic
def signal_review(
    *,
    participant: Participant,
    signal: str,
    value_seen: str,
    comment: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> SignalReview:
    """Sign off one signal (or the whole trail) of a participant as reviewed, with a comment.

    Raises SignalActionRefused when the actor may not review at her site, the signal is
    unknown or the comment empty, and SignalChanged when the value is no longer `value_seen`
    (new data arrived since the page was opened). Audited as SIGNAL_REVIEWED.
    """
    now = now or timezone.now()
    if not _covers(actor, access.REVIEW_SIGNALS, participant):
        raise SignalActionRefused("You may not review signals of this participant's site.")
    if signal not in SignalKind.values:
        raise SignalActionRefused(f"{signal!r} is not a data-quality signal.")
    text = _text(comment, "a comment")
    # Locked so that two reviewers, or a review and the data it checks, are ordered.
    Participant.objects.select_for_update(no_key=True).get(pk=participant.pk)
    current = signal_value(participant=participant, signal=signal, now=now)
    if current != value_seen:
        raise SignalChanged(
            f"{SignalKind(signal).label} changed since you opened it: it was {value_seen}, it "
            f"is now {current}. Nothing was signed; look at it again."
        )
    review = SignalReview.objects.create(
        study_id=participant.study_id,
        participant=participant,
        signal=signal,
        value_seen=current,
        comment=text,
        reviewed_by=actor,
        reviewed_at=now,
    )
    audit_record(
        action=AuditAction.SIGNAL_REVIEWED,
        actor=actor,
        participant=participant,
        obj=review,
        reason=text,
        occurred_at=now,
        details={"signal": signal, "value": current},
    )
    return review


@transaction.atomic
def query_raise(
    *,
    participant: Participant,
    signal: str,
    text: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> DataQuery:
    """Raise a query about one of her signals (or her trail) to the participant's site.

    Raises SignalActionRefused when the actor may not raise queries at that site (a
    participant of another site), the signal is unknown or the text empty. Audited.
    """
    now = now or timezone.now()
    if not _covers(actor, access.REVIEW_SIGNALS, participant):
        raise SignalActionRefused(
            f"{participant.subject_id} is not a participant of your sites: no query raised."
        )
    if signal not in SignalKind.values:
        raise SignalActionRefused(f"{signal!r} is not a data-quality signal.")
    query = DataQuery.objects.create(
        study_id=participant.study_id,
        site_id=participant.site_id,
        participant=participant,
        signal=signal,
        text=_text(text, "the query"),
        raised_by=actor,
        raised_at=now,
    )
    audit_record(
        action=AuditAction.QUERY_RAISED,
        actor=actor,
        participant=participant,
        obj=query,
        reason=query.text,
        occurred_at=now,
        details={"query": query.pk, "signal": signal},
    )
    return query


def _locked(query: DataQuery) -> DataQuery:
    return (
        DataQuery.objects.select_for_update(no_key=True, of=("self",))
        .select_related("participant")
        .get(pk=query.pk)
    )


@transaction.atomic
def query_answer(
    *, query: DataQuery, answer: str, actor: AbstractBaseUser, now: datetime | None = None
) -> DataQuery:
    """The site answers an open query. Raises SignalActionRefused unless the actor may answer
    queries at the participant's site and the query is open. Audited."""
    now = now or timezone.now()
    locked = _locked(query)
    if not _covers(actor, access.ANSWER_QUERY, locked.participant):
        raise SignalActionRefused("You may not answer queries of this participant's site.")
    if locked.status != QueryStatus.OPEN:
        raise SignalActionRefused(f"Query {locked.pk} is {locked.status}: it takes no answer.")
    locked.answer = _text(answer, "the answer")
    locked.answered_by = actor
    locked.answered_at = now
    locked.status = QueryStatus.ANSWERED
    locked.save(update_fields=["answer", "answered_by", "answered_at", "status"])
    audit_record(
        action=AuditAction.QUERY_ANSWERED,
        actor=actor,
        participant=locked.participant,
        obj=locked,
        reason=locked.answer,
        occurred_at=now,
        details={"query": locked.pk},
    )
    return locked


@transaction.atomic
def query_close(
    *, query: DataQuery, comment: str, actor: AbstractBaseUser, now: datetime | None = None
) -> DataQuery:
    """The monitor closes a query (answered or not), with a comment. Raises
    SignalActionRefused unless she may review at its site and it is not closed. Audited."""
    now = now or timezone.now()
    locked = _locked(query)
    if not _covers(actor, access.REVIEW_SIGNALS, locked.participant):
        raise SignalActionRefused("You may not close queries of this participant's site.")
    if locked.status == QueryStatus.CLOSED:
        raise SignalActionRefused(f"Query {locked.pk} is already closed.")
    locked.close_comment = _text(comment, "a comment")
    locked.closed_by = actor
    locked.closed_at = now
    locked.status = QueryStatus.CLOSED
    locked.save(update_fields=["close_comment", "closed_by", "closed_at", "status"])
    audit_record(
        action=AuditAction.QUERY_CLOSED,
        actor=actor,
        participant=locked.participant,
        obj=locked,
        reason=locked.close_comment,
        occurred_at=now,
        details={"query": locked.pk},
    )
    return locked


def queries_export_record(*, actor: AbstractBaseUser, filters: dict[str, str], rows: int) -> None:
    """Audit one download of the query list."""
    with transaction.atomic():
        audit_record(
            action=AuditAction.QUERIES_EXPORTED,
            actor=actor,
            details={"kind": "queries", "filters": filters, "rows": rows},
        )


@transaction.atomic
def signal_settings_update(
    *, study: Study, values: dict[str, Any], actor: AbstractBaseUser
) -> StudySignalSettings:
    """Set the study's thresholds. Raises SignalActionRefused when the actor may not change
    them and ValidationError (one message per field) when a value is out of its range; nothing
    is stored then. Audited with the old and new values of what changed."""
    if not access.staff_can(actor, access.SIGNAL_SETTINGS, study_id=study.pk):
        raise SignalActionRefused("You may not change this study's signal thresholds.")
    settings_ = signal_settings_of(study)
    if settings_.pk is not None:
        settings_ = StudySignalSettings.objects.select_for_update(no_key=True).get(pk=settings_.pk)
    unknown = sorted(set(values) - set(THRESHOLD_RANGES))
    if unknown:
        raise SignalActionRefused(f"Not a threshold: {', '.join(unknown)}.")
    old = {name: getattr(settings_, name) for name in THRESHOLD_RANGES}
    for name, value in values.items():
        setattr(settings_, name, value)
    settings_.full_clean()
    if settings_.night_start_hour == settings_.night_end_hour:
        raise ValidationError(
            {"night_end_hour": "Unusual hours must end at another hour than they begin."}
        )
    changes = {
        name: [old[name], getattr(settings_, name)]
        for name in THRESHOLD_RANGES
        if old[name] != getattr(settings_, name)
    }
    settings_.save()
    audit_record(
        action=AuditAction.SIGNAL_SETTINGS_CHANGED,
        actor=actor,
        study=study,
        obj=settings_,
        details={"changes": changes},
    )
    return settings_
