"""The study lock: soft (no new entries; corrections only with a reason) or hard (nothing
changes), set and lifted by two unblinded data managers, the shape of the two-person grants
(diary.services.grants):

- `study_lock_propose`: a holder of diary.lock_study in the study proposes a new level (open,
  soft, hard) with a reason. Pending; the study's level is unchanged.
- `study_lock_confirm`: a second holder (never the proposer) confirms; only then is the level
  in force (Study.lock_level, with the time it took effect).
- `study_lock_reject`: a second holder rejects a pending request; nothing changes.

Every step is audited with its reason. Unlocking is a change like any other: two people and a
reason.

`study_lock_check` is what the writing services ask before they write: it raises StudyLocked,
with a message for the person in front of the screen. The database refuses the same writes on
every path (diary.enforcement, epro_study_lock), so a write path that forgets to ask is still
refused, with a database error instead of a message.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diary import access
from diary.models import (
    AuditAction,
    LockChangeStatus,
    LockLevel,
    SiteCopyTrigger,
    Study,
    StudyLockChange,
)
from diary.services.audit import audit_record
from diary.services.site_copy import site_copies_schedule

MIN_REASON_LENGTH = 15
SAME_PERSON = "A second person confirms: not the one who proposed the change."

# What a write is, for the lock: a participant's entry (or a paper form entered for her), a
# documented correction by the site, or any other change of the record (enrolment,
# randomisation, withdrawal, excusing, period dates, window states).
ENTRY = "entry"
CORRECTION = "correction"
CHANGE = "change"


class StudyLocked(ValidationError):
    """The study's lock forbids this change; the message says so."""


def study_lock_refusal(study: Study, kind: str) -> str:
    """Why the lock of `study` (as loaded) refuses a write of `kind`, or "" when it does not."""
    if study.lock_level == LockLevel.HARD:
        return _("The study is hard-locked: its data can no longer be changed.")
    if study.lock_level == LockLevel.SOFT and kind == ENTRY:
        return _("The study is locked for new entries: nothing new can be entered.")
    return ""


def study_lock_check(study: Study, kind: str) -> None:
    """Raise StudyLocked when the study's lock refuses a write of `kind` (ENTRY, CORRECTION or
    CHANGE). A correction is taken under a soft lock: the correction services require its
    reason."""
    refusal = study_lock_refusal(study, kind)
    if refusal:
        raise StudyLocked(refusal)


def study_lock_check_id(study_id: int, kind: str) -> None:
    """study_lock_check, reading the study's level now (one query): for the services that
    were handed an object loaded earlier."""
    study_lock_check(Study.objects.only("lock_level").get(pk=study_id), kind)


def _reason_check(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationError(
            {"reason": f"Give the reason (at least {MIN_REASON_LENGTH} characters)."}
        )
    return reason


def _holder_check(actor: AbstractBaseUser, study: Study, what: str) -> None:
    if not access.may_lock_study(actor, study):
        raise PermissionDenied(f"Only an unblinded data manager of the study {what} a lock.")


def _label(level: str) -> str:
    return {LockLevel.OPEN: "open", LockLevel.SOFT: "soft-locked", LockLevel.HARD: "hard-locked"}[
        LockLevel(level)
    ]


@transaction.atomic
def study_lock_propose(
    *,
    study: Study,
    level: str,
    reason: str,
    actor: AbstractBaseUser,
    now: datetime | None = None,
) -> StudyLockChange:
    """Record a pending change of the study's lock to `level`; nothing is in force until a
    second holder confirms. Raises PermissionDenied unless `actor` holds diary.lock_study in
    the study; ValidationError for an unknown level, a short reason, the level already in force
    or a request already waiting. Nothing is stored when it raises."""
    _holder_check(actor, study, "proposes")
    if level not in LockLevel.values:
        raise ValidationError({"level": f"Unknown lock level {level!r}."})
    reason = _reason_check(reason)
    study = Study.objects.select_for_update(no_key=True).get(pk=study.pk)
    if study.lock_level == level:
        raise ValidationError(f"The study is already {_label(level)}.")
    if StudyLockChange.objects.filter(study=study, status=LockChangeStatus.PENDING).exists():
        raise ValidationError("A change of this study's lock is already waiting for a decision.")
    try:
        with transaction.atomic():
            change = StudyLockChange.objects.create(
                study=study,
                from_level=study.lock_level,
                to_level=level,
                reason=reason,
                proposed_by=actor,
                proposed_at=now or timezone.now(),
            )
    except IntegrityError as exc:  # a request proposed at the same moment won the race
        raise ValidationError(
            "A change of this study's lock is already waiting for a decision."
        ) from exc
    _record(change, AuditAction.LOCK_PROPOSED, actor=actor, reason=reason)
    return change


@transaction.atomic
def study_lock_confirm(
    *, change: StudyLockChange, actor: AbstractBaseUser, now: datetime | None = None
) -> StudyLockChange:
    """Confirm a pending change and put its level in force. At a hard lock every site's own
    copy is queued (SiteCopy, trigger AT_LOCK: the caller publishes their build tasks on
    commit). Raises ValidationError when it is not pending, `actor` proposed it, or the
    study's level changed since it was proposed; PermissionDenied unless `actor` holds
    diary.lock_study in the study."""
    now = now or timezone.now()
    study = Study.objects.select_for_update(no_key=True).get(pk=change.study_id)
    change = StudyLockChange.objects.select_for_update(no_key=True).get(pk=change.pk)
    _decision_check(change, actor, study, "confirms")
    if study.lock_level != change.from_level:
        raise ValidationError(
            "The study's lock has changed since this was proposed: propose again."
        )
    change.status = LockChangeStatus.CONFIRMED
    change.decided_by = actor
    change.decided_at = now
    change.save(update_fields=["status", "decided_by", "decided_at"])
    study.lock_level = change.to_level
    study.lock_changed_at = now
    study.save(update_fields=["lock_level", "lock_changed_at"])
    _record(change, AuditAction.LOCK_CONFIRMED, actor=actor, reason=change.reason)
    if change.to_level == LockLevel.HARD:
        site_copies_schedule(study=study, trigger=SiteCopyTrigger.AT_LOCK, now=now)
    return change


@transaction.atomic
def study_lock_reject(
    *, change: StudyLockChange, actor: AbstractBaseUser, reason: str, now: datetime | None = None
) -> StudyLockChange:
    """Reject a pending change; the level stays. A second holder decides, as for confirmation,
    and says why. Raises ValidationError or PermissionDenied otherwise."""
    study = Study.objects.select_for_update(no_key=True).get(pk=change.study_id)
    change = StudyLockChange.objects.select_for_update(no_key=True).get(pk=change.pk)
    _decision_check(change, actor, study, "rejects")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why this change is rejected."})
    change.status = LockChangeStatus.REJECTED
    change.decided_by = actor
    change.decided_at = now or timezone.now()
    change.decision_reason = reason
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    _record(change, AuditAction.LOCK_REJECTED, actor=actor, reason=reason)
    return change


def _decision_check(
    change: StudyLockChange, actor: AbstractBaseUser, study: Study, what: str
) -> None:
    _holder_check(actor, study, what)
    if change.status != LockChangeStatus.PENDING:
        raise ValidationError(f"This request is already {change.get_status_display().lower()}.")
    if actor.pk == change.proposed_by_id:
        raise ValidationError(SAME_PERSON)


def _record(change: StudyLockChange, action: AuditAction, *, actor, reason: str) -> None:
    details = {
        "change": change.pk,
        "from_level": change.from_level,
        "to_level": change.to_level,
        "proposed_by": change.proposed_by.get_username(),
    }
    if change.decided_by is not None:
        details["decided_by"] = change.decided_by.get_username()
    audit_record(
        action=action, actor=actor, study=change.study, obj=change, reason=reason, details=details
    )
