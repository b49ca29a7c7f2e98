"""Single-use, expiring links for setting a password (invitation or reset)."""

from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.db import models
from django.db.models import Q

from diary.models.participant import Participant


class InvitationPurpose(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    PASSWORD_RESET = "password_reset", "Password reset"


class Invitation(models.Model):
    """Only a SHA-256 of the token is stored; the token itself exists only in the e-mail."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="invitations"
    )
    purpose = models.CharField(max_length=20, choices=InvitationPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="invitation_expires_after_creation",
                condition=Q(expires_at__gt=models.F("created_at")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.participant}"


class PasswordResetRequest(models.Model):
    """One request on the forgotten-password page, kept for its rate limits only.

    Written for every request, whether or not the identifier names an account, so that the
    page does the same work either way. The identifier is kept only as a keyed hash (it may be
    an e-mail address); rows older than the limits' window are deleted by the sending task.
    """

    requested_at = models.DateTimeField()
    identifier_digest = models.CharField(max_length=64)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            # The per-identifier and per-address counts over the last window.
            models.Index(
                fields=["identifier_digest", "requested_at"], name="reset_identifier_time"
            ),
            models.Index(fields=["address", "requested_at"], name="reset_address_time"),
        ]

    def __str__(self) -> str:
        at = self.requested_at.astimezone(UTC)
        return f"password reset request at {at:%Y-%m-%d %H:%M:%S} UTC"
