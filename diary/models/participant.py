"""Participants and their contact details (kept apart from clinical data)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from diary.models.history import tracked
from diary.models.study import Site, Study, validate_time_zone


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


class ParticipantContact(models.Model):
    """Identifying contact details, kept out of clinical tables and never exported."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="contact"
    )
    email = models.EmailField()

    def __str__(self) -> str:
        return f"contact of {self.participant}"
