"""A study's configuration: sites, staff, treatments and the crossover sequences."""

from __future__ import annotations

import re
import zoneinfo

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Mod
from django.db.models.lookups import Exact

from diary.models.history import tracked
from diary.models.lock import LockLevel
from diary.rules.casebook import milestones_parse
from scoring.definitions import InstrumentNotFound, instrument_get


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone.")


def validate_instrument_modules(value: object) -> None:
    """A mapping of instrument key -> list of that instrument's optional module keys, each
    checked against the shipped definition (its latest version, the one new entries use)."""
    if not isinstance(value, dict):
        raise ValidationError(
            "Give an object mapping an instrument key to a list of its module keys, e.g. "
            '{"ehp30": ["ehp30_work"]}.'
        )
    errors = []
    for key, modules in value.items():
        try:
            known = [module.key for module in instrument_get(key).modules]
        except InstrumentNotFound:
            errors.append(f"{key} is not a known instrument.")
            continue
        if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
            errors.append(f"{key}: give a list of module keys.")
            continue
        unknown = [m for m in modules if m not in known]
        if unknown:
            errors.append(
                f"{key} has no module {', '.join(unknown)}; "
                f"its modules are: {', '.join(known) or 'none'}."
            )
        if len(set(modules)) != len(modules):
            errors.append(f"{key}: a module is listed twice.")
    if errors:
        raise ValidationError(errors)


def validate_regular_expression(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"{value!r} is not a valid regular expression: {exc}.") from exc


# Study IDs like S01-004: a site letter and number, a dash, a three-digit number.
DEFAULT_SUBJECT_ID_PATTERN = r"[A-Z][0-9]{2}-[0-9]{3}"
DEFAULT_SUBJECT_ID_EXAMPLE = "S01-004"
DEFAULT_PUBLIC_NAME = "Study diary"


class MissingItemRule(models.TextChoices):
    HALF = "half", "At least half of the scale's items answered"
    MORE_THAN_HALF = "more_than_half", "More than half of the scale's items answered"
    COMPLETE = "complete", "Every item of the scale answered"


# The lock's level and time are the latest of the study's lock changes, whose own history
# (StudyLockChange, tracked) says who changed them, when and why.
# signing_milestones came after the row history's digests were first chained: tracked, it
# would change the digests of every earlier study snapshot.
@tracked(untracked=("lock_level", "lock_changed_at", "signing_milestones"))
class Study(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    # What participants read in e-mail subjects and on a phone's lock screen, where the title
    # (naming the drug or the diagnosis) must never appear.
    public_name = models.CharField(
        max_length=80,
        default=DEFAULT_PUBLIC_NAME,
        help_text="Neutral name shown to participants in e-mails (visible on a lock screen): "
        "never the drug, the diagnosis or the study title.",
    )
    subject_id_pattern = models.CharField(
        "study ID pattern",
        max_length=200,
        default=DEFAULT_SUBJECT_ID_PATTERN,
        validators=[validate_regular_expression],
        help_text="Regular expression every study ID must match in full, e.g. "
        "[A-Z][0-9]{2}-[0-9]{3} for S01-004.",
    )
    subject_id_example = models.CharField(
        "study ID example",
        max_length=32,
        default=DEFAULT_SUBJECT_ID_EXAMPLE,
        help_text="A study ID of the expected form, shown when one is refused.",
    )
    number_of_periods = models.PositiveSmallIntegerField(default=6)
    periods_per_block = models.PositiveSmallIntegerField(default=3)
    # diary.rules.casebook.milestones_parse; checked against number_of_periods in clean().
    signing_milestones = models.JSONField(
        default=list,
        blank=True,
        help_text="Where the investigator signs besides her whole casebook, e.g. "
        '[{"after_period": 3, "label": "After period 3"}, {"after_period": 6, "label": '
        '"End of study"}]: a signature at a milestone covers her data up to that period.',
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/Copenhagen", validators=[validate_time_zone]
    )
    default_language = models.CharField(max_length=8, default="en")
    # Instruments collected after each period.
    instruments = ArrayField(
        models.CharField(max_length=40),
        default=list,
        blank=True,
        help_text="Instrument keys collected after each period, in order.",
    )
    # Read through diary.selectors.questionnaire.instruments_collected, never directly.
    instrument_modules = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_instrument_modules],
        help_text='Optional modules collected of each instrument, e.g. {"ehp30": ["ehp30_work"]}; '
        "an instrument not named collects none.",
    )
    missing_item_rule = models.CharField(
        max_length=20, choices=MissingItemRule.choices, default=MissingItemRule.HALF
    )
    # Window rule, in the participant's local time zone.
    window_fallback_open_days = models.PositiveSmallIntegerField(
        default=8,
        help_text="Days after a period's start at which its questionnaire opens when no end "
        "has been reported.",
    )
    window_length_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days the questionnaire stays open."
    )
    window_close_time = models.TimeField(
        default="21:00", help_text="Local time of day at which a window closes."
    )
    backdating_limit_days = models.PositiveSmallIntegerField(
        default=7, help_text="How many days back a period start or end may be reported."
    )
    period_correction_grace_hours = models.PositiveSmallIntegerField(
        default=48, help_text="How long after reporting a date the participant may correct it."
    )
    expected_cycle_days = models.PositiveSmallIntegerField(default=28)
    # E-mail reminders, timed in the participant's local time zone.
    reminders_enabled = models.BooleanField(
        default=True, help_text="Send e-mail reminders to this study's participants."
    )
    reminder_before_close_hours = models.PositiveSmallIntegerField(
        default=24,
        help_text="Hours before a questionnaire window closes at which a second reminder is "
        "sent to those who have not submitted (0: no closing reminder).",
    )
    period_nudge_days = models.PositiveSmallIntegerField(
        default=3,
        help_text="Days after her expected next period start (her mean cycle length so far, "
        "else the expected cycle length) at which a participant who has not reported it is "
        "asked whether it has started.",
    )
    quiet_hours_start = models.TimeField(
        default="21:00", help_text="Local time from which no reminder is sent."
    )
    quiet_hours_end = models.TimeField(
        default="08:00",
        help_text="Local time until which no reminder is sent; one due earlier waits until then.",
    )
    is_demo = models.BooleanField(
        default=False, help_text="Demo labels are shown; never use for a production study."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set only by diary.services.study_lock (two people); the database refuses clinical writes
    # of a locked study (diary.enforcement, epro_study_lock).
    lock_level = models.CharField(
        max_length=8, choices=LockLevel.choices, default=LockLevel.OPEN, editable=False
    )
    lock_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "studies"
        permissions = [
            ("view_unblinded", "Can see allocation, treatments and per-arm results"),
            # Granted deliberately to named users (e.g. the site investigator); every use is
            # audited and reported to the study's unblinded contacts.
            ("emergency_unblind", "Can unblind one participant in an emergency"),
            # The study's own pages, held by role groups (migration 0009) and checked with the
            # user's membership (diary.access).
            ("export_data", "Can export the study's data (blinded)"),
            ("export_unblinded", "Can export the study's data unblinded"),
            ("view_audit_trail", "Can read participants' audit timelines and export the trail"),
            # The system audit view (events of no study); held by no role group.
            ("view_system_audit", "Can read and export the system audit trail"),
            # Soft and hard lock, with a second holder's confirmation (diary.services.study_lock).
            ("lock_study", "Can propose and confirm a study lock"),
            # The investigator's own copy of her site (diary.services.site_copy).
            ("site_copy", "Can generate and download the site's own copy"),
        ]
        constraints = [
            models.CheckConstraint(
                name="study_periods_positive",
                condition=Q(number_of_periods__gte=1) & Q(periods_per_block__gte=1),
            ),
            models.CheckConstraint(
                name="study_blocks_divide_periods",
                condition=Exact(Mod(F("number_of_periods"), F("periods_per_block")), 0),
            ),
            models.CheckConstraint(
                name="study_window_length_positive", condition=Q(window_length_days__gte=1)
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        try:
            milestones_parse(self.signing_milestones, number_of_periods=self.number_of_periods)
        except ValueError as exc:
            raise ValidationError({"signing_milestones": str(exc)}) from exc
        if not isinstance(self.instrument_modules, dict):
            return  # validate_instrument_modules says what is wrong with it
        stray = sorted(set(self.instrument_modules) - set(self.instruments))
        if stray:
            raise ValidationError(
                {
                    "instrument_modules": f"Not collected by this study: {', '.join(stray)}. "
                    "Add the instrument to the instruments first."
                }
            )

        if self.subject_id_example and not self.subject_id_matches(self.subject_id_example):
            raise ValidationError(
                {"subject_id_example": "The example does not match the study ID pattern."}
            )

    def subject_id_matches(self, subject_id: str) -> bool:
        """Whether a study ID has this study's form (the whole ID matches the pattern)."""
        try:
            return re.fullmatch(self.subject_id_pattern, subject_id) is not None
        except re.error:
            return False

    @property
    def milestones(self):
        """Its signing milestones in period order (diary.rules.casebook.Milestone)."""
        return milestones_parse(self.signing_milestones, number_of_periods=self.number_of_periods)

    @property
    def number_of_blocks(self) -> int:
        return self.number_of_periods // self.periods_per_block


@tracked()
class Site(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="site_code_unique_in_study"),
        ]
        ordering = ["study", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StaffRole(models.TextChoices):
    COORDINATOR = "coordinator", "Coordinator (blinded)"
    MONITOR = "monitor", "Monitor (blinded, read-only)"
    STATISTICIAN = "statistician", "Unblinded statistician / data manager"
    ADMIN = "admin", "Study administrator (blinded)"
    INVESTIGATOR = "investigator", "Investigator (site, blinded)"


@tracked()
class StaffMembership(models.Model):
    """Scopes a staff user to a study and one site, or to all sites when site is empty."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="memberships")
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        help_text="Empty means every site of the study.",
    )
    role = models.CharField(max_length=20, choices=StaffRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "study", "site"],
                name="membership_unique",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} {self.study} {self.site or 'all sites'}"


class GrantRight(models.TextChoices):
    """The rights nobody grants herself, nor alone (diary.access, "Guarded rights")."""

    UNBLINDED_ROLE = "unblinded_role", "Unblinded role"
    EMERGENCY_UNBLIND = "emergency_unblind", "Emergency unblinding"


class GrantStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second person"
    APPROVED = "approved", "Approved and granted"
    REJECTED = "rejected", "Rejected"


@tracked()
class AccessGrant(models.Model):
    """A two-person grant of a guarded right in a study: one person proposes it with a reason,
    a second who already holds the right there approves it (diary.services.grants). The first
    holder of a study is recorded the same way by `manage.py grant_first_holder`, naming both
    people (`bootstrap`)."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="grants")
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grants",
        help_text="Empty means every site of the study.",
    )
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_grants"
    )
    right = models.CharField(max_length=20, choices=GrantRight.choices)
    role = models.CharField(
        max_length=20,
        choices=StaffRole.choices,
        blank=True,
        help_text="For an unblinded role: which one.",
    )
    reason = models.TextField()
    status = models.CharField(
        max_length=10, choices=GrantStatus.choices, default=GrantStatus.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    bootstrap = models.BooleanField(
        default=False, help_text="The study's first holder, recorded by the two-person command."
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            # Nobody unblinds herself: the database refuses it as well as the service.
            models.CheckConstraint(
                condition=~Q(proposed_by=F("grantee")), name="grant_not_proposed_by_grantee"
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | (~Q(decided_by=F("grantee")) & ~Q(decided_by=F("proposed_by"))),
                name="grant_decided_by_a_second_person",
            ),
            models.CheckConstraint(
                condition=Q(status=GrantStatus.PENDING, decided_by__isnull=True)
                | (~Q(status=GrantStatus.PENDING) & Q(decided_by__isnull=False)),
                name="grant_decided_by_someone",
            ),
            models.CheckConstraint(
                condition=Q(right=GrantRight.UNBLINDED_ROLE, role__gt="")
                | Q(right=GrantRight.EMERGENCY_UNBLIND, role=""),
                name="grant_role_names_the_role",
            ),
        ]

    def __str__(self) -> str:
        what = self.get_role_display() if self.role else self.get_right_display()
        return f"{what} for {self.grantee} in {self.study} ({self.get_status_display()})"
