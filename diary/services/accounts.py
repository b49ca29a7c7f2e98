"""What a participant does to her own account: forgotten password, language."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from diary.access import participant_of
from diary.auth import user_for_identifier
from diary.models import InvitationPurpose, Participant, ParticipantStatus
from diary.services.invitations import invitation_send

log = logging.getLogger(__name__)


def password_reset_request(*, identifier: str, now: datetime | None = None) -> None:
    """E-mail a single-use reset link to the active participant the identifier names.

    Says nothing either way: the caller shows the same answer whether or not the account
    exists, so the form cannot be used to find out who takes part in a study.
    """
    user = user_for_identifier(identifier)
    participant = participant_of(user) if user is not None else None
    if participant is None or participant.status != ParticipantStatus.ACTIVE:
        return
    try:
        invitation_send(
            participant=participant, actor=None, purpose=InvitationPurpose.PASSWORD_RESET, now=now
        )
    except ValidationError as exc:
        # No e-mail on file: the study team has to help; nothing to tell the requester.
        log.warning("password reset not sent for participant %s: %s", participant.pk, exc)


@transaction.atomic
def participant_language_set(*, participant: Participant, language: str) -> Participant:
    """Store the participant's interface language. Raises ValidationError for an unknown one."""
    if language not in {code for code, _ in settings.LANGUAGES}:
        raise ValidationError(f"Unknown language {language!r}.")
    participant.language = language
    participant.save(update_fields=["language"])
    return participant
