"""Business events (who did what, when, why), next to the row history pghistory keeps."""

from __future__ import annotations

from datetime import UTC

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
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
    GRANT_PROPOSED = "grant_proposed", "Access grant proposed"
    GRANT_APPROVED = "grant_approved", "Access granted"
    GRANT_REJECTED = "grant_rejected", "Access grant rejected"
    INSTRUMENT_LOADED = "instrument_loaded", "Instrument version loaded"
    RESCORED = "rescored", "Responses rescored"
    REMINDER_SENT = "reminder_sent", "Reminder sent"
    REMINDER_CHANNEL_SET = "reminder_channel_set", "Reminder channel chosen"
    PUSH_SUBSCRIBED = "push_subscribed", "Push notifications switched on for a device"
    PUSH_REMOVED = "push_removed", "Push notifications removed from a device"
    DEMO_CREATED = "demo_created", "Demo study created"
    SIGNAL_REVIEWED = "signal_reviewed", "Data-quality signal reviewed"
    QUERY_RAISED = "query_raised", "Query raised to the site"
    QUERY_ANSWERED = "query_answered", "Query answered by the site"
    QUERY_CLOSED = "query_closed", "Query closed"
    QUERIES_EXPORTED = "queries_exported", "Queries exported"
    SIGNAL_SETTINGS_CHANGED = "signal_settings_changed", "Signal thresholds changed"
    CHANGE_REQUESTED = "change_requested", "Participant asked for an answer to be changed"
    CHANGE_ACCEPTED = "change_accepted", "Change request accepted (answer corrected)"
    CHANGE_DECLINED = "change_declined", "Change request declined"
    CASEBOOK_SIGNED = "casebook_signed", "Casebook signed"
    SIGNATURE_REFUSED = "signature_refused", "Signing refused: re-authentication failed"
    IMPORTED = "imported", "Data imported from a file"
    LOCK_PROPOSED = "lock_proposed", "Study lock change proposed"
    LOCK_CONFIRMED = "lock_confirmed", "Study lock change confirmed"
    LOCK_REJECTED = "lock_rejected", "Study lock change rejected"
    SITE_COPY_GENERATED = "site_copy_generated", "Site copy generated"
    SITE_COPY_DOWNLOADED = "site_copy_downloaded", "Site copy downloaded"
    LATE_ENTRY_KEPT = "late_entry_kept", "Late entry kept for review"
    LATE_ENTRY_ACCEPTED = "late_entry_accepted", "Late entry accepted as documented"
    LATE_ENTRY_DECLINED = "late_entry_declined", "Late entry declined"


# Events about the allocation list, an unblinding or the unblinded summary: always unblinded
# (shown only to users unblinded in the study, so that not even their timing reaches blinded
# staff). What else is unblinded is decided event by event (AuditEvent.unblinded).
UNBLINDED_ACTIONS = frozenset(
    {
        AuditAction.ALLOCATION_UPLOADED,
        AuditAction.ALLOCATION_GENERATED,
        AuditAction.UNBLINDED,
        AuditAction.SUMMARY_VIEWED,
    }
)
UNBLINDED_ACTION_VALUES = frozenset(str(action.value) for action in UNBLINDED_ACTIONS)


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
    # Stamped when the event is written (diary.services.audit, from the classification in
    # diary.access.AUDIT_ACTION_BLINDING) and never changed: an unblinded event, or one holding
    # anything computed from unblinded content (an unblinded export's hashes, sizes and row
    # counts), is read only by staff unblinded in its study. No default: a writer that does not
    # say is refused by the database.
    unblinded = models.BooleanField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The per-participant timeline.
            models.Index(fields=["participant", "occurred_at"], name="audit_participant_time"),
            # The global log filtered by action.
            models.Index(fields=["action", "occurred_at"], name="audit_action_time"),
            # The system audit view: events of no study (staff logins, audit-trail downloads).
            models.Index(
                fields=["occurred_at"], condition=Q(study__isnull=True), name="audit_system_time"
            ),
            # The answer-changes signal (diary.selectors.signals): each questionnaire's draft
            # saves in (participant, questionnaire) order, read from the index alone
            # (bench/bench_admin.py: the signals page at 2,000 participants).
            models.Index(
                fields=["participant", "object_id"],
                include=["details"],
                condition=Q(action="draft_saved"),
                name="audit_draft_revisions",
            ),
        ]
        constraints = [
            # Events about the allocation itself are never blinded.
            models.CheckConstraint(
                name="audit_unblinded_actions",
                condition=Q(unblinded=True) | ~Q(action__in=sorted(UNBLINDED_ACTION_VALUES)),
            ),
            # An export's event is blinded only when its details say the export was.
            models.CheckConstraint(
                name="audit_export_blinded_declared",
                condition=Q(unblinded=True)
                | ~Q(action="exported")
                | Q(details__contains={"blinded": True}),
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        at = self.occurred_at.astimezone(UTC)
        return f"{at:%Y-%m-%d %H:%M:%S} UTC {self.actor_label} {self.action}"
