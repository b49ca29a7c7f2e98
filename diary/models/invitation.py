"""Single-use, expiring links for setting a password (invitation or reset)."""

from __future__ import annotations

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
