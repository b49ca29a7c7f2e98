"""Data-quality signals: a study's thresholds, the monitor's reviews and her queries to sites.

The signals themselves are computed (diary.selectors.signals), never stored: what is stored is
what a person did about them. A review is append-only, like the audit trail; a query changes
status (open -> answered -> closed) through diary.services.signals only, with row history, and
is never deleted.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from diary.models.history import tracked
from diary.models.participant import Participant
from diary.models.study import Site, Study


class SignalKind(models.TextChoices):
    UNUSUAL_HOURS = "unusual_hours", "Entries at unusual local hours"
    ONE_SITTING = "one_sitting", "Several entries in one sitting"
    LATE_REPORT = "late_report", "Periods reported long after they started"
    ANSWER_CHANGES = "answer_changes", "Answers changed repeatedly before submission"
    CLOCK = "clock", "Device clock far from the server's"
    CORRECTIONS = "corrections", "Corrections by the site"
    LAST_HOUR = "last_hour", "Submissions at the end of the window"
    MISSED_IN_ROW = "missed_in_row", "Missed windows in a row"
    # Not a computed signal: the monitor's review of a participant's whole audit trail.
    TRAIL = "trail", "Audit trail reviewed as a whole"


# (field, low, high): the one home of each threshold's range, read by the validators, the
# database constraint and the page that says what may be entered.
THRESHOLD_RANGES: dict[str, tuple[int, int]] = {
    "night_start_hour": (0, 23),
    "night_end_hour": (0, 23),
    "unusual_hours_entries": (1, 100),
    "sitting_minutes": (1, 720),
    "sitting_entries": (1, 100),
    "late_report_days": (0, 90),
    "answer_changes": (1, 500),
    "clock_minutes": (1, 1440),
    "corrections_per_participant": (1, 100),
    "last_hour_minutes": (1, 1440),
    "last_hour_submissions": (1, 100),
    "missed_in_row": (1, 100),
}


def _bounded(name: str, default: int, help_text: str) -> models.PositiveSmallIntegerField:
    low, high = THRESHOLD_RANGES[name]
    return models.PositiveSmallIntegerField(
        default=default,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
        help_text=f"{help_text} ({low} to {high}).",
    )


@tracked()
class StudySignalSettings(models.Model):
    """The thresholds at which a study's data-quality signals are flagged. A study without a
    row uses the defaults (diary.selectors.signals.signal_settings_of)."""

    study = models.OneToOneField(Study, on_delete=models.PROTECT, related_name="signal_settings")
    night_start_hour = _bounded(
        "night_start_hour", 0, "Local hour at which unusual hours begin, e.g. 0 for midnight"
    )
    night_end_hour = _bounded(
        "night_end_hour", 5, "Local hour at which unusual hours end, e.g. 5 for 05:00"
    )
    unusual_hours_entries = _bounded(
        "unusual_hours_entries", 2, "Entries at unusual hours from which a participant is flagged"
    )
    sitting_minutes = _bounded(
        "sitting_minutes", 30, "Minutes within which two entries count as one sitting"
    )
    sitting_entries = _bounded(
        "sitting_entries", 1, "Entries made in the same sitting as another from which to flag"
    )
    late_report_days = _bounded(
        "late_report_days", 3, "Days after its start beyond which a period's report is late"
    )
    answer_changes = _bounded(
        "answer_changes", 5, "Answers changed before submitting one questionnaire, to flag"
    )
    clock_minutes = _bounded(
        "clock_minutes", 15, "Minutes between the device's clock and the server's, to flag"
    )
    corrections_per_participant = _bounded(
        "corrections_per_participant",
        2,
        "Corrections per participant (of a participant, or on average at a site) to flag",
    )
    last_hour_minutes = _bounded(
        "last_hour_minutes", 60, "Minutes before a window closes that count as its end"
    )
    last_hour_submissions = _bounded(
        "last_hour_submissions", 2, "Submissions at the end of the window from which to flag"
    )
    missed_in_row = _bounded("missed_in_row", 2, "Missed windows in a row from which to flag")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "study signal settings"
        constraints = [
            models.CheckConstraint(
                name="signal_settings_in_range",
                condition=Q(
                    *(
                        Q(**{f"{name}__gte": low, f"{name}__lte": high})
                        for name, (low, high) in THRESHOLD_RANGES.items()
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"signal thresholds of {self.study}"


class SignalReview(models.Model):
    """A monitor's sign-off of one signal (or of the whole trail) of one participant, with the
    value she saw. Append-only: PostgreSQL rejects UPDATE and DELETE."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="signal_reviews"
    )
    signal = models.CharField(max_length=20, choices=SignalKind.choices)
    value_seen = models.CharField(
        max_length=64, help_text="The signal's value when it was reviewed."
    )
    comment = models.TextField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField()

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        permissions = [
            ("view_signals", "Can see data-quality signals, their reviews and queries"),
            ("review_signals", "Can review data-quality signals and raise or close queries"),
        ]
        indexes = [
            # The latest review of each signal of the participants on a page.
            models.Index(
                fields=["participant", "signal", "reviewed_at"], name="signal_review_latest"
            ),
        ]
        constraints = [
            models.CheckConstraint(name="signal_review_has_comment", condition=~Q(comment="")),
        ]
        triggers = [
            pgtrigger.Protect(
                name="signal_review_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.signal} reviewed {self.reviewed_at:%Y-%m-%d}"


class QueryStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


@tracked()
class DataQuery(models.Model):
    """A question the monitor raises to a participant's site; the site answers, the monitor
    closes it. Never deleted; every change has row history and an audit event."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="data_queries")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="data_queries"
    )
    signal = models.CharField(max_length=20, choices=SignalKind.choices)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default="open")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    close_comment = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "data queries"
        ordering = ["-raised_at", "-id"]
        permissions = [("answer_query", "Can answer queries raised to the site")]
        indexes = [
            # The query list filtered by status, newest first.
            models.Index(fields=["study", "status", "raised_at"], name="data_query_status"),
        ]
        constraints = [
            models.CheckConstraint(name="data_query_has_text", condition=~Q(text="")),
            models.CheckConstraint(
                name="data_query_answer_complete",
                condition=(
                    Q(answer="", answered_by__isnull=True, answered_at__isnull=True)
                    | (~Q(answer="") & Q(answered_by__isnull=False, answered_at__isnull=False))
                ),
            ),
            models.CheckConstraint(
                name="data_query_status_consistent",
                condition=(
                    Q(status="open", answered_at__isnull=True, closed_at__isnull=True)
                    | Q(status="answered", answered_at__isnull=False, closed_at__isnull=True)
                    | Q(status="closed", closed_at__isnull=False, closed_by__isnull=False)
                ),
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="data_query_never_deleted", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"query {self.pk} on {self.participant} ({self.status})"
