"""Submissions that arrived after their window closed, kept for the site to review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from diary.models.clinical import Assessment


class LateEntryStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    ACCEPTED = "accepted", "Accepted as documented (late)"
    DECLINED = "declined", "Declined"


class LateEntryReason(models.TextChoices):
    """Why it was not accepted as made in the window (diary.rules.late.LateReason)."""

    NO_DRAFT_IN_WINDOW = "no_draft_in_window", "The server saw no draft inside the window"
    NO_DEVICE_TIME = "no_device_time", "The device sent no time with the submission"
    DEVICE_TIME_AFTER_CLOSE = "device_time_after_close", "The device's time is after the close"
    CLOCKS_DISAGREE = "clocks_disagree", "The device's time and the server's disagree"


class LateEntry(models.Model):
    """A submission received after the window closed that could not count as made in it.

    Kept, not lost, and never counted as submitted on its own: the assessment stays as it was
    (open until the sweep marks it missed). A coordinator of her site accepts it as documented
    (diary.services.late_entries.late_entry_review: Responses are stored with the time the
    server received them and counted late) or declines it; either is audited. `answers` and
    `metadata` are her draft's at the moment she pressed Submit.
    """

    assessment = models.ForeignKey(
        Assessment, on_delete=models.PROTECT, related_name="late_entries"
    )
    answers = models.JSONField(help_text="Instrument key -> item variable -> code or null.")
    metadata = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=32, choices=LateEntryReason.choices)
    received_at = models.DateTimeField(help_text="When the server received it (UTC).")
    device_at = models.DateTimeField(
        null=True, blank=True, help_text="The time the device claimed for the press."
    )
    difference_seconds = models.FloatField(
        null=True, blank=True, help_text="Device time minus server time, in seconds."
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=LateEntryStatus.choices, default=LateEntryStatus.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "late entries"
        ordering = ["-received_at", "-id"]
        permissions = [("review_lateentry", "Can accept or decline late entries")]
        constraints = [
            # A second press while one waits is the same entry, not another.
            models.UniqueConstraint(
                fields=["assessment"],
                condition=Q(status="pending"),
                name="late_entry_one_pending",
            ),
            models.CheckConstraint(
                name="late_entry_review_complete",
                condition=Q(status="pending")
                | (Q(reviewed_by__isnull=False, reviewed_at__isnull=False) & ~Q(review_reason="")),
            ),
        ]

    def __str__(self) -> str:
        return f"late entry for {self.assessment}"
