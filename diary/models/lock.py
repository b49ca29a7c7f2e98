"""The study lock: soft (no new entries by participants; corrections only with a reason) or
hard (nothing changes), set and lifted by two people (diary.services.study_lock)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from diary.models.history import tracked


class LockLevel(models.TextChoices):
    OPEN = "open", "Open"
    SOFT = "soft", "Soft lock (no new entries; corrections with a reason)"
    HARD = "hard", "Hard lock (nothing changes)"


class LockChangeStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second person"
    CONFIRMED = "confirmed", "Confirmed and in force"
    REJECTED = "rejected", "Rejected"


@tracked()
class StudyLockChange(models.Model):
    """A change of a study's lock level: proposed with a reason by one holder of
    diary.lock_study, put in force only when a second holder confirms it (the shape of
    AccessGrant). The level in force is Study.lock_level; this row is its history."""

    study = models.ForeignKey("diary.Study", on_delete=models.PROTECT, related_name="lock_changes")
    from_level = models.CharField(max_length=8, choices=LockLevel.choices)
    to_level = models.CharField(max_length=8, choices=LockLevel.choices)
    reason = models.TextField()
    status = models.CharField(
        max_length=10, choices=LockChangeStatus.choices, default=LockChangeStatus.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_level=F("to_level")), name="lock_change_changes_the_level"
            ),
            # Two people: the database refuses a change confirmed by its proposer.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="lock_change_decided_by_a_second_person",
            ),
            models.CheckConstraint(
                condition=Q(status=LockChangeStatus.PENDING, decided_by__isnull=True)
                | (~Q(status=LockChangeStatus.PENDING) & Q(decided_by__isnull=False)),
                name="lock_change_decided_by_someone",
            ),
            # One request at a time per study (the form's check races; this does not).
            models.UniqueConstraint(
                fields=["study"],
                condition=Q(status=LockChangeStatus.PENDING),
                name="lock_change_one_pending_per_study",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.from_level} -> {self.to_level} ({self.get_status_display()})"
