"""Enrolment, activation and allocation of participants."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from diary.models import (
    Assessment,
    AuditAction,
    Participant,
    ParticipantContact,
    ParticipantStatus,
    Site,
    Study,
)
from diary.services.audit import audit_record
from diary.services.randomization import participant_randomize_if_listed
from diary.services.study_lock import CHANGE, ENTRY, study_lock_check_id


def _username_for(study: Study, subject_id: str) -> str:
    User = get_user_model()
    username = subject_id
    if User.objects.filter(username__iexact=username).exists():
        username = f"{study.code}-{subject_id}"
    return username


EMAIL_IN_USE = (
    "This e-mail address is already used by another participant or a staff account. "
    "Each participant needs her own address."
)


def email_in_use(email: str) -> bool:
    """Whether a participant's contact or any account already has this address (any case)."""
    return (
        ParticipantContact.objects.filter(email__iexact=email).exists()
        or get_user_model().objects.filter(email__iexact=email).exists()
    )


@transaction.atomic
def participant_enrol(
    *,
    study: Study,
    site: Site,
    subject_id: str,
    email: str,
    actor: AbstractBaseUser | None,
    time_zone: str | None = None,
    language: str | None = None,
    now: datetime | None = None,
) -> Participant:
    """Create the participant, her login (no usable password yet), contact and schedule.

    One scheduled assessment per period is created up front, so compliance can count what is
    expected before anything is reported. Raises ValidationError, storing nothing, for a site
    of another study, a study ID not of the study's form (Participant.clean), or an e-mail
    address another participant or a staff account already uses (in any letter case): login
    by e-mail and reset links must reach one person only.
    """
    now = now or timezone.now()
    if site.study_id != study.pk:
        raise ValidationError({"site": "The site does not belong to this study."})
    study_lock_check_id(study.pk, ENTRY)
    email = email.strip()
    if email_in_use(email):
        raise ValidationError({"email": EMAIL_IN_USE})
    User = get_user_model()
    user = User(username=_username_for(study, subject_id), email=email, is_staff=False)
    user.set_unusable_password()
    user.save()
    participant = Participant(
        study=study,
        site=site,
        subject_id=subject_id,
        user=user,
        time_zone=time_zone or study.time_zone,
        language=language or study.default_language,
        status=ParticipantStatus.INVITED,
        enrolled_at=now,
    )
    participant.full_clean(exclude=["user"])
    participant.save()
    try:
        with transaction.atomic():  # a savepoint: the constraint settles a simultaneous enrolment
            ParticipantContact.objects.create(participant=participant, email=email)
    except IntegrityError as exc:
        raise ValidationError({"email": EMAIL_IN_USE}) from exc
    Assessment.objects.bulk_create(
        Assessment(participant=participant, period_number=number)
        for number in range(1, study.number_of_periods + 1)
    )
    audit_record(
        action=AuditAction.ENROLLED,
        actor=actor,
        participant=participant,
        obj=participant,
        occurred_at=now,
    )
    return participant


@transaction.atomic
def participant_activate(
    *, participant: Participant, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Participant:
    now = now or timezone.now()
    participant = Participant.objects.select_for_update(no_key=True).get(pk=participant.pk)
    study_lock_check_id(participant.study_id, CHANGE)
    if participant.status != ParticipantStatus.INVITED:
        raise ValidationError(
            f"Only an invited participant can be activated ({participant.status})."
        )
    participant.status = ParticipantStatus.ACTIVE
    participant.activated_at = now
    participant.save(update_fields=["status", "activated_at"])
    audit_record(
        action=AuditAction.ACTIVATED,
        actor=actor,
        participant=participant,
        obj=participant,
        occurred_at=now,
    )
    # Randomization happens at activation when the study has a concealed list.
    participant_randomize_if_listed(participant=participant, actor=actor, now=now)
    return participant
