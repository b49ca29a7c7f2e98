"""Emergency unblinding of one participant: reason required, audited, contacts told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from diary import access
from diary.models import AuditAction, Participant
from diary.selectors.allocation import period_treatments
from diary.services.audit import audit_record

MIN_REASON_LENGTH = 15


@dataclass(frozen=True)
class Unblinded:
    participant: Participant
    sequence: str
    treatments: tuple[tuple[int, str, str], ...]  # (period, treatment code, treatment name)


def unblinded_contacts(participant: Participant) -> list[str]:
    """E-mail addresses of the study's unblinded staff."""
    return sorted(
        {
            m.user.email
            for m in access.unblinded_memberships(participant.study).select_related("user")
            if m.user.email and m.user.is_active
        }
    )


@transaction.atomic
def participant_unblind(
    *,
    participant: Participant,
    actor: AbstractBaseUser,
    reason: str,
    now: datetime | None = None,
) -> Unblinded:
    """Reveal one participant's treatment per period to an authorised user.

    Raises PermissionDenied unless diary.access.may_emergency_unblind (the permission granted
    by name, and a membership covering her site), ValidationError for a missing or too short
    reason or no allocation.
    """
    now = now or timezone.now()
    if not access.may_emergency_unblind(actor):
        raise PermissionDenied("You are not authorised to unblind.")
    if not access.may_emergency_unblind(actor, participant):
        raise PermissionDenied("This participant is not at one of your sites.")
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationError(
            f"Give the medical reason for unblinding (at least {MIN_REASON_LENGTH} characters)."
        )
    allocation = getattr(participant, "allocation", None)
    if allocation is None:
        raise ValidationError(
            "This participant has not been randomized: there is nothing to unblind."
        )
    study = participant.study
    treatments = tuple(
        (period, treatment.code, treatment.name)
        for period, treatment in period_treatments(
            study=study, sequence=allocation.sequence
        ).items()
    )
    # The trail says who, when and why; never what was revealed (blinded staff read it).
    audit_record(
        action=AuditAction.UNBLINDED,
        actor=actor,
        participant=participant,
        reason=reason,
        occurred_at=now,
    )
    recipients = unblinded_contacts(participant)
    if recipients:
        subject = f"[{study.code}] Emergency unblinding of {participant.subject_id}"
        body = (
            f"{actor.get_username()} unblinded participant {participant.subject_id} "
            f"of study {study.code} at {now:%Y-%m-%d %H:%M} UTC.\n\nReason given:\n{reason}\n"
        )
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        )
    return Unblinded(participant, allocation.sequence.code, treatments)
