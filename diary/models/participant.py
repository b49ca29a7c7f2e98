"""Participants and their contact details (kept apart from clinical data)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from diary.models.history import tracked
from diary.models.study import Site, Study, validate_time_zone
from diary.rules.phone import PhoneInvalid, phone_e164


def validate_phone(value: str) -> None:
    """Stored numbers are already E.164: a value that does not come back unchanged is not."""
    if not value:
        return
    try:
        canonical = phone_e164(value)
    except PhoneInvalid as exc:
        raise ValidationError(str(exc), code="phone_invalid") from exc
    if canonical != value:
        raise ValidationError("Store the number in E.164 form.", code="phone_not_e164")


class ParticipantStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    ACTIVE = "active", "Active"
    WITHDRAWN = "withdrawn", "Withdrawn"
    COMPLETED = "completed", "Completed"


@tracked()
class Participant(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="participants")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    subject_id = models.CharField(
        "study ID", max_length=32, help_text="Pseudonymous identifier, e.g. S01-004."
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="participant",
    )
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    language = models.CharField(max_length=8, default="en")
    status = models.CharField(
        max_length=12, choices=ParticipantStatus.choices, default=ParticipantStatus.INVITED
    )
    enrolled_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["study", "subject_id"]
        # Actions checked by the admin, together with the user's site scope (diary.access).
        permissions = [
            ("enrol_participant", "Can enrol participants"),
            ("invite_participant", "Can send or resend invitations"),
            ("withdraw_participant", "Can withdraw participants"),
            ("excuse_assessment", "Can excuse a missed assessment"),
            ("randomize_participant", "Can randomize a participant from the allocation list"),
            ("correct_response", "Can correct answers and enter paper questionnaires"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "subject_id"], name="participant_subject_id_unique_in_study"
            ),
            models.CheckConstraint(
                name="participant_withdrawal_has_reason",
                condition=~models.Q(status=ParticipantStatus.WITHDRAWN)
                | (models.Q(withdrawn_at__isnull=False) & ~models.Q(withdrawal_reason="")),
            ),
        ]
        indexes = [
            # Compliance and admin lists filter a study's participants by site.
            models.Index(fields=["study", "site"], name="participant_study_site"),
        ]

    def __str__(self) -> str:
        return self.subject_id

    def clean(self) -> None:
        study = self.study if self.study_id else None
        if study is not None and self.subject_id and not study.subject_id_matches(self.subject_id):
            raise ValidationError(
                {
                    "subject_id": f"{self.subject_id!r} is not a study ID of this study: it must "
                    f"have the form {study.subject_id_example} (pattern "
                    f"{study.subject_id_pattern})."
                }
            )


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message (SMS)"
    PUSH = "push", "Notification on her phone or computer (web push)"


class ParticipantContact(models.Model):
    """Identifying contact details, kept out of clinical tables and never exported.

    Also how she wants her reminders: e-mail stays the fallback whenever the chosen channel
    has no number or device, or fails (diary.services.reminder_delivery).
    """

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="contact"
    )
    email = models.EmailField()
    phone = models.CharField(
        max_length=16,
        blank=True,
        validators=[validate_phone],
        help_text="Mobile number for SMS reminders, in E.164 form (+4520123456).",
    )
    reminder_channel = models.CharField(
        max_length=8, choices=ReminderChannel.choices, default=ReminderChannel.EMAIL
    )

    class Meta:
        constraints = [
            # One contact, one person: a login or reset link by e-mail reaches her alone.
            models.UniqueConstraint(Lower("email"), name="participant_contact_email_unique"),
            models.CheckConstraint(
                name="participant_contact_phone_e164",
                condition=models.Q(phone="") | models.Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"),
            ),
        ]

    def __str__(self) -> str:
        return f"contact of {self.participant}"
