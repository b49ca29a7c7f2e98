"""What a participant does to her own account: forgotten password, language."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from diary.access import participant_of
from diary.auth import user_for_identifier
from diary.models import (
    Invitation,
    InvitationPurpose,
    Participant,
    ParticipantStatus,
    PasswordResetRequest,
)
from diary.services.invitations import invitation_send

log = logging.getLogger(__name__)


class ResetRateLimited(ValidationError):
    """Too many requests for this identifier or from this address; the message says so."""


def _identifier_digest(identifier: str) -> str:
    # Keyed, so the table does not hold e-mail addresses (or a plain hash one could look up).
    return salted_hmac("password-reset-request", identifier.strip().casefold()).hexdigest()


@transaction.atomic
def password_reset_request(
    *, identifier: str, address: str | None, now: datetime | None = None
) -> None:
    """Take a request of the forgotten-password page; the caller then queues
    diary.tasks.password_reset_send_task with the identifier, whatever it names.

    Does the same work whether or not the identifier names an account (it does not even look):
    two counts and one row, so neither the answer nor its timing tells who takes part in a
    study. Raises ResetRateLimited, storing nothing, past PASSWORD_RESET_LIMIT_PER_IDENTIFIER
    requests for the typed identifier or PASSWORD_RESET_LIMIT_PER_ADDRESS from the address
    within PASSWORD_RESET_WINDOW.
    """
    now = now or timezone.now()
    since = now - settings.PASSWORD_RESET_WINDOW
    digest = _identifier_digest(identifier)
    recent = PasswordResetRequest.objects.filter(requested_at__gt=since)
    if recent.filter(
        identifier_digest=digest
    ).count() >= settings.PASSWORD_RESET_LIMIT_PER_IDENTIFIER or (
        address is not None
        and recent.filter(address=address).count() >= settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
    ):
        raise ResetRateLimited(
            _(
                "Too many requests for a new password. Please try again in an hour, or ask "
                "your study team for a new link."
            )
        )
    PasswordResetRequest.objects.create(requested_at=now, identifier_digest=digest, address=address)


@transaction.atomic
def password_reset_send(*, identifier: str, now: datetime | None = None) -> bool:
    """The forgotten-password page's work, done by a task: e-mail a reset link to the active
    participant the identifier names; returns whether one was sent.

    Nothing for an unknown, inactive or ambiguous identifier. Nothing either when a reset link
    was made for her within PASSWORD_RESET_COOLDOWN: repeated requests (anyone can make them
    in her name) neither flood her inbox nor replace the link she may be about to use; a new
    link leaves the earlier ones usable until one of them is used.
    """
    now = now or timezone.now()
    PasswordResetRequest.objects.filter(
        requested_at__lt=now - settings.PASSWORD_RESET_WINDOW
    ).delete()
    user = user_for_identifier(identifier)
    participant = participant_of(user) if user is not None else None
    if participant is None or participant.status != ParticipantStatus.ACTIVE:
        return False
    participant = Participant.objects.select_for_update(no_key=True).get(pk=participant.pk)
    if Invitation.objects.filter(
        participant=participant,
        purpose=InvitationPurpose.PASSWORD_RESET,
        created_at__gt=now - settings.PASSWORD_RESET_COOLDOWN,
    ).exists():
        return False
    try:
        invitation_send(
            participant=participant,
            actor=None,
            purpose=InvitationPurpose.PASSWORD_RESET,
            now=now,
            revoke_earlier=False,
        )
    except ValidationError as exc:
        # No e-mail on file: the study team has to help; nothing to tell the requester.
        log.warning("password reset not sent for participant %s: %s", participant.pk, exc)
        return False
    return True


@transaction.atomic
def participant_language_set(*, participant: Participant, language: str) -> Participant:
    """Store the participant's interface language. Raises ValidationError for an unknown one."""
    if language not in {code for code, _ in settings.LANGUAGES}:
        raise ValidationError(f"Unknown language {language!r}.")
    participant.language = language
    participant.save(update_fields=["language"])
    return participant
