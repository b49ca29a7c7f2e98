"""Business events (who did what, when, why), next to the row history pghistory keeps."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    LOGIN = "login", "Logged in"
    LOGOUT = "logout", "Logged out"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOCKOUT = "lockout", "Locked out"
    INVITATION_SENT = "invitation_sent", "Invitation sent"
    INVITATION_USED = "invitation_used", "Invitation used"
    PASSWORD_RESET = "password_reset", "Password reset"
    PASSWORD_CHANGED = "password_changed", "Password set or changed"
    AUTHENTICATOR_ADDED = "authenticator_added", "Authenticator added"
    AUTHENTICATOR_REMOVED = "authenticator_removed", "Authenticator removed"
    ENROLLED = "enrolled", "Participant enrolled"
    ACTIVATED = "activated", "Participant activated"
    RANDOMIZED = "randomized", "Participant randomized"
    PERIOD_REPORTED = "period_reported", "Period reported"
    PERIOD_CORRECTED = "period_corrected", "Period corrected"
    DRAFT_SAVED = "draft_saved", "Draft saved"
    SUBMITTED = "submitted", "Questionnaire submitted"
    CORRECTED = "corrected", "Response corrected"
    EXCUSED = "excused", "Assessment excused"
    MISSED = "missed", "Assessment missed"
    WITHDRAWN = "withdrawn", "Participant withdrawn"
    EXPORTED = "exported", "Data exported"
    SUMMARY_VIEWED = "summary_viewed", "Unblinded summary viewed"
    UNBLINDED = "unblinded", "Emergency unblinding"
    ALLOCATION_UPLOADED = "allocation_uploaded", "Allocation list uploaded"
    ALLOCATION_GENERATED = "allocation_generated", "Allocation list generated"
    STUDY_CHANGED = "study_changed", "Study settings changed"
    INSTRUMENT_LOADED = "instrument_loaded", "Instrument version loaded"
    RESCORED = "rescored", "Responses rescored"
    REMINDER_SENT = "reminder_sent", "Reminder sent"
    DEMO_CREATED = "demo_created", "Demo study created"
    SIGNAL_REVIEWED = "signal_reviewed", "Data-quality signal reviewed"
    QUERY_RAISED = "query_raised", "Query raised to the site"
    QUERY_ANSWERED = "query_answered", "Query answered by the site"
    QUERY_CLOSED = "query_closed", "Query closed"
    QUERIES_EXPORTED = "queries_exported", "Queries exported"
    SIGNAL_SETTINGS_CHANGED = "signal_settings_changed", "Signal thresholds changed"


class AuditEvent(models.Model):
    """Append-only: PostgreSQL rejects UPDATE and DELETE on this table."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as text too, so the trail reads the same if a user is later renamed.
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    study = models.ForeignKey(
        "diary.Study", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    participant = models.ForeignKey(
        "diary.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The per-participant timeline.
            models.Index(fields=["participant", "occurred_at"], name="audit_participant_time"),
            # The global log filtered by action.
            models.Index(fields=["action", "occurred_at"], name="audit_action_time"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


# Events about the allocation list, an unblinding or the unblinded summary: shown only to users
# unblinded in the study, so that not even their timing reaches blinded staff.
UNBLINDED_ACTIONS = frozenset(
    {
        AuditAction.ALLOCATION_UPLOADED,
        AuditAction.ALLOCATION_GENERATED,
        AuditAction.UNBLINDED,
        AuditAction.SUMMARY_VIEWED,
    }
)
