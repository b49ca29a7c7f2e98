"""Invitation and password-reset links: single use, expiring, revoked by a newer one.

Opening a link must never consume it (mail scanners prefetch links): the view shows a
button, and only `invitation_accept`, called when the participant sets her password, uses it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from diary.auth import password_set_by_link
from diary.models import (
    AuditAction,
    Invitation,
    InvitationPurpose,
    Participant,
    ParticipantStatus,
)
from diary.services.audit import audit_record
from diary.services.participants import participant_activate


class InvitationInvalid(ValidationError):
    """The link cannot be used; the message tells the participant what to do."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ttl(purpose: InvitationPurpose) -> timedelta:
    hours = (
        settings.INVITATION_TTL_HOURS
        if purpose == InvitationPurpose.INVITATION
        else settings.PASSWORD_RESET_TTL_HOURS
    )
    return timedelta(hours=hours)


@transaction.atomic
def invitation_send(
    *,
    participant: Participant,
    actor: AbstractBaseUser | None,
    purpose: InvitationPurpose = InvitationPurpose.INVITATION,
    now: datetime | None = None,
    revoke_earlier: bool = True,
) -> str:
    """Create a link, revoke earlier unused ones of the same purpose, e-mail it; returns the URL.

    With `revoke_earlier` False (her own request on the forgotten-password page, which anyone
    can make in her name) earlier links stay usable; using any one revokes the others.
    Raises ValidationError for a withdrawn participant or one without an e-mail address.
    """
    now = now or timezone.now()
    if participant.status == ParticipantStatus.WITHDRAWN:
        raise ValidationError("A withdrawn participant cannot be invited.")
    email = getattr(getattr(participant, "contact", None), "email", "")
    if not email:
        raise ValidationError("The participant has no e-mail address on file.")
    if revoke_earlier:
        Invitation.objects.filter(
            participant=participant,
            purpose=purpose,
            used_at__isnull=True,
            revoked_at__isnull=True,
        ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    Invitation.objects.create(
        participant=participant,
        purpose=purpose,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + _ttl(purpose),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    url = settings.SITE_URL.rstrip("/") + reverse("diary:invitation", args=[token])
    context = {
        "url": url,
        "study": participant.study,
        "purpose": purpose,
        "expires_hours": int(_ttl(purpose).total_seconds() // 3600),
    }
    with translation.override(participant.language):
        subject = render_to_string("diary/email/invitation_subject.txt", context).strip()
        body = render_to_string("diary/email/invitation_body.txt", context)
    # Sent after commit: a rolled-back invitation must not reach anyone.
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email]))
    audit_record(
        action=AuditAction.INVITATION_SENT
        if purpose == InvitationPurpose.INVITATION
        else AuditAction.PASSWORD_RESET,
        actor=actor,
        participant=participant,
        occurred_at=now,
        details={"purpose": purpose},
    )
    return url


def invitation_check(*, token: str, now: datetime | None = None) -> Invitation:
    """The usable invitation for a token, or InvitationInvalid saying why not. Reads only."""
    now = now or timezone.now()
    invitation = (
        Invitation.objects.select_related("participant__user")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None or invitation.revoked_at is not None:
        raise InvitationInvalid(
            "This link is not valid. If you asked for a newer one, please use that. "
            "Otherwise ask your study team for a new link."
        )
    if invitation.used_at is not None:
        raise InvitationInvalid(
            "This link has already been used. Log in with your password, or ask for a new link."
        )
    if invitation.expires_at <= now:
        raise InvitationInvalid("This link has expired. Please ask your study team for a new one.")
    if invitation.participant.status == ParticipantStatus.WITHDRAWN:
        raise InvitationInvalid("This link is no longer valid.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str, now: datetime | None = None) -> Participant:
    """Use the link once: set the password (already validated by the form), activate.

    Two simultaneous submissions cannot both succeed: the invitation row is locked.
    """
    now = now or timezone.now()
    checked = invitation_check(token=token, now=now)
    invitation = Invitation.objects.select_for_update(no_key=True).get(pk=checked.pk)
    if invitation.used_at is not None:
        raise InvitationInvalid("This link has already been used.")
    invitation.used_at = now
    invitation.save(update_fields=["used_at"])
    # Her password is set: no other link of hers opens the password step any more.
    Invitation.objects.filter(
        participant_id=invitation.participant_id, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    participant = invitation.participant
    user = participant.user
    with password_set_by_link():  # the one way her password is set (diary.passwords)
        user.set_password(password)
        user.save(update_fields=["password"])
    if participant.status == ParticipantStatus.INVITED:
        participant = participant_activate(participant=participant, actor=user, now=now)
    audit_record(
        action=AuditAction.INVITATION_USED,
        actor=user,
        participant=participant,
        occurred_at=now,
        details={"purpose": invitation.purpose},
    )
    return participant
