"""Enrolment, activation and allocation of participants."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
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


def _username_for(study: Study, subject_id: str) -> str:
    User = get_user_model()
    username = subject_id
    if User.objects.filter(username__iexact=username).exists():
        username = f"{study.code}-{subject_id}"
    return username


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
    expected before anything is reported. Raises ValidationError for a site of another study.
    """
    now = now or timezone.now()
    if site.study_id != study.pk:
        raise ValidationError({"site": "The site does not belong to this study."})
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
    ParticipantContact.objects.create(participant=participant, email=email)
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
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
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
