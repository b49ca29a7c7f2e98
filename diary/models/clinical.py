"""What participants report and submit: periods, assessments and responses."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from diary.models.history import tracked
from diary.models.participant import Participant

# Period numbers must stay within the study's count. The count lives on another table, so a
# CHECK constraint cannot express it; a BEFORE trigger can, for every write path.
_PERIOD_WITHIN_STUDY = """
    IF NEW.{column} > (
        SELECT s.number_of_periods
        FROM diary_participant p JOIN diary_study s ON s.id = p.study_id
        WHERE p.id = NEW.participant_id
    ) THEN
        RAISE EXCEPTION 'period number % is beyond the study''s number of periods', NEW.{column}
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
"""


@tracked()
class MenstrualPeriod(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="periods")
    number = models.PositiveSmallIntegerField()
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    start_reported_at = models.DateTimeField()
    end_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "number"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="period_number_unique"),
            models.CheckConstraint(name="period_number_positive", condition=Q(number__gte=1)),
            models.CheckConstraint(
                name="period_ends_after_start",
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="period_number_within_study",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                func=_PERIOD_WITHIN_STUDY.format(column="number"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} period {self.number}"


# The closing start closes the study's last period: it must follow exactly that period.
_CLOSING_FOLLOWS_LAST = """
    IF NEW.follows_number <> (
        SELECT s.number_of_periods
        FROM diary_participant p JOIN diary_study s ON s.id = p.study_id
        WHERE p.id = NEW.participant_id
    ) THEN
        RAISE EXCEPTION 'a closing start follows the study''s last period, not period %',
            NEW.follows_number USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
"""


@tracked()
class ClosingPeriodStart(models.Model):
    """The first day of her next period after the study's last one: a closing marker, not a
    study period. No questionnaire follows it; it only closes the last cycle, so that the last
    period has a cycle length too (diary.exports.sql.reported_period).

    A separate table rather than a period N + 1, so that every query over MenstrualPeriod
    (periods reported, windows, reminders, compliance) keeps its meaning. One per participant.
    """

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="closing_start"
    )
    follows_number = models.PositiveSmallIntegerField(
        help_text="The period it closes: the study's last."
    )
    started_on = models.DateField()
    start_reported_at = models.DateTimeField()

    class Meta:
        ordering = ["participant"]
        triggers = [
            pgtrigger.Trigger(
                name="closing_start_follows_last_period",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                func=_CLOSING_FOLLOWS_LAST,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} start after period {self.follows_number}"


class AssessmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted"
    MISSED = "missed", "Missed"
    EXCUSED = "excused", "Excused"


@tracked()
class Assessment(models.Model):
    """The questionnaires due after one period of one participant."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="assessments"
    )
    period_number = models.PositiveSmallIntegerField()
    period = models.OneToOneField(
        "diary.MenstrualPeriod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assessment",
    )
    status = models.CharField(
        max_length=12, choices=AssessmentStatus.choices, default=AssessmentStatus.SCHEDULED
    )
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    excused_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["participant", "period_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "period_number"], name="assessment_one_per_period"
            ),
            models.CheckConstraint(
                name="assessment_period_positive", condition=Q(period_number__gte=1)
            ),
            models.CheckConstraint(
                name="assessment_window_ordered",
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=F("opens_at")),
            ),
            models.CheckConstraint(
                name="assessment_submitted_has_time",
                condition=~Q(status="submitted") | Q(submitted_at__isnull=False),
            ),
            models.CheckConstraint(
                name="assessment_excused_has_reason",
                condition=~Q(status="excused") | ~Q(excused_reason=""),
            ),
        ]
        indexes = [
            # The missed-window sweep and reminders look for open windows by closing time.
            models.Index(fields=["status", "closes_at"], name="assessment_status_closes"),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="assessment_period_within_study",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                func=_PERIOD_WITHIN_STUDY.format(column="period_number"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} assessment {self.period_number}"


class ResponseSource(models.TextChoices):
    PARTICIPANT_WEB = "participant_web", "Participant, web diary"
    SITE_TRANSCRIPTION = "site_transcription", "Site transcription of a paper form"
    SITE_CORRECTION = "site_correction", "Documented correction by site"
    # Loaded from a file (manage.py import_study_data): metadata names the batch and file.
    IMPORT = "import", "Imported from a file"


@tracked()
class Response(models.Model):
    """Submitted answers to one instrument. Final: never updated or deleted.

    A correction is a new Response whose `supersedes` points at the one it replaces.
    """

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="responses")
    instrument_key = models.CharField(max_length=40)
    instrument_version = models.CharField(max_length=20)
    instrument_hash = models.CharField(max_length=64)
    answers = models.JSONField(help_text="Item variable -> code, or null when not answered.")
    metadata = models.JSONField(
        default=dict,
        blank=True,
        help_text="How the answers were captured (e.g. VAS answered time, viewport width).",
    )
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=24, choices=ResponseSource.choices)
    reason = models.TextField(blank=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )

    class Meta:
        ordering = ["assessment", "instrument_key", "submitted_at"]
        constraints = [
            # One original response per instrument and assessment; later ones are corrections.
            models.UniqueConstraint(
                fields=["assessment", "instrument_key"],
                condition=Q(supersedes__isnull=True),
                name="response_one_original_per_instrument",
            ),
            models.CheckConstraint(
                name="response_site_entry_has_reason",
                condition=Q(source="participant_web") | ~Q(reason=""),
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="response_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessment} {self.instrument_key} v{self.instrument_version}"
