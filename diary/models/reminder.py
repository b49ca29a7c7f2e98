"""The reminder log: one row per thing a participant is reminded of, sent at most once."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from diary.models.clinical import Assessment
from diary.models.participant import Participant


class ReminderKind(models.TextChoices):
    WINDOW_OPENED = "window_opened", "Questionnaire open"
    WINDOW_CLOSING = "window_closing", "Questionnaire closing soon"
    PERIOD_NUDGE = "period_nudge", "Has your period started?"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ReminderLog(models.Model):
    """A reminder planned, sent, failed or cancelled.

    `key` names what the reminder is about (kind + assessment, or kind + participant + the
    period expected next). Its unique constraint is what makes planning idempotent: a second
    beat, or two beat processes at once, insert nothing new for the same key.
    """

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="reminders")
    assessment = models.ForeignKey(
        Assessment, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders"
    )
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    period_number = models.PositiveSmallIntegerField(
        help_text="The period whose questionnaire is due, or whose start is awaited (nudge)."
    )
    key = models.CharField(max_length=120)
    status = models.CharField(
        max_length=12, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    due_at = models.DateTimeField(help_text="When it is due (UTC), after the quiet-hours shift.")
    next_attempt_at = models.DateTimeField(
        help_text="When the sender tries next (UTC): the due time, later after a failure."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    channel = models.CharField(
        max_length=8,
        blank=True,
        help_text="The channel that delivered it (e-mail, sms, push); empty until sent.",
    )
    delivery_problem = models.TextField(
        blank=True,
        help_text="Why her chosen channel did not deliver it (no number, an expired push "
        "subscription, a provider error), when e-mail had to stand in. Never a number or address.",
    )
    cancel_reason = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="reminder_key_unique"),
            models.CheckConstraint(
                name="reminder_sent_has_time",
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
            ),
            models.CheckConstraint(
                name="reminder_assessment_kinds_have_assessment",
                condition=Q(kind="period_nudge") | Q(assessment__isnull=False),
            ),
        ]
        indexes = [
            # The sender's claim: pending rows whose next attempt has come.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="reminder_pending_next",
            ),
            # The participant page lists her reminders, newest first.
            models.Index(fields=["participant", "due_at"], name="reminder_participant_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.participant} ({self.get_status_display()})"
