"""Blinded compliance selectors: what was expected, submitted, late, missed and excused.

Reads only, aggregated in SQL: each function is one query whatever the number of
participants. Nothing here touches allocation, so the results are safe for blinded staff.

Definitions (shown on the dashboard too):
- due: the window has closed, or the assessment is already submitted, missed or excused;
- submitted: the questionnaires are in;
- late: submitted after the window closed: a site transcription of a paper form entered
  then, or a late entry of the web diary accepted by the site (diary.services.late_entries);
  a late entry still waiting for review is no submission, so that assessment counts missed;
- missed: the window closed without a submission (also while the hourly sweep has not
  marked it yet), unless it closed after she withdrew;
- excused: a missed assessment the site excused, with reason; left out of the percentage;
- compliance % = submitted / (submitted + missed).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Greatest, NullIf

from diary.models import (
    Assessment,
    AssessmentStatus,
    MenstrualPeriod,
    Participant,
    ParticipantStatus,
    ReminderLog,
    ReminderStatus,
    Response,
    ResponseSource,
)

OVERDUE_HOURS = 48
UNSUBMITTED = [AssessmentStatus.SCHEDULED, AssessmentStatus.OPEN]


def _late_response(assessment_ref: str) -> Exists:
    return Exists(
        Response.objects.filter(
            Q(source=ResponseSource.SITE_TRANSCRIPTION, submitted_at__gt=F("assessment__closes_at"))
            | Q(metadata__has_key="late_entry"),
            assessment=OuterRef(assessment_ref),
        )
    )


def _counts(
    prefix: str, now: datetime, late: Exists, within: Q, withdrawn_at: str
) -> dict[str, Any]:
    """Conditional counts over assessments reached through `prefix` ("" or "assessments__"),
    each limited by `within`. `withdrawn_at` names the participant's withdrawal time."""

    def q(**lookups: Any) -> Q:
        return Q(**{f"{prefix}{key}": value for key, value in lookups.items()})

    counted = f"{prefix}pk" if prefix else "pk"
    submitted = q(status=AssessmentStatus.SUBMITTED)
    # A window closing after her withdrawal was no longer expected of her.
    still_expected = Q(**{f"{withdrawn_at}__isnull": True}) | q(closes_at__lte=F(withdrawn_at))
    missed = (
        q(status=AssessmentStatus.MISSED) | (q(status__in=UNSUBMITTED) & q(closes_at__lte=now))
    ) & still_expected
    excused = q(status=AssessmentStatus.EXCUSED)
    open_now = q(status__in=UNSUBMITTED, opens_at__lte=now, closes_at__gt=now)
    return {
        "expected": Count(counted, filter=(submitted | missed | excused) & within),
        "submitted": Count(counted, filter=submitted & within),
        "late": Count(counted, filter=submitted & Q(late) & within),
        "missed": Count(counted, filter=missed & within),
        "excused": Count(counted, filter=excused & within),
        "open_now": Count(counted, filter=open_now & within),
    }


def _percentage() -> Any:
    return (
        Cast(F("submitted"), FloatField())
        * Value(100.0)
        / NullIf(Cast(F("submitted") + F("missed"), FloatField()), Value(0.0))
    )


def compliance_by_participant(
    *, participants: QuerySet[Participant], now: datetime, period: int | None = None
) -> QuerySet[Participant]:
    """The participants annotated with periods_reported, expected, submitted, late, missed,
    excused, open_now, compliance (percent, None when nothing is due), last_activity and
    reminder_problems (reminders failed, or delivered by e-mail instead of her chosen channel).

    `period` limits the counts to that period number. One query; ordered by site and study ID.
    """
    period_q = Q(assessments__period_number=period) if period else Q()
    periods = MenstrualPeriod.objects.filter(participant=OuterRef("pk"))
    if period:
        periods = periods.filter(number=period)
    periods_reported = periods.order_by().values("participant").annotate(n=Count("pk")).values("n")
    last_report = (
        periods.order_by()
        .values("participant")
        .annotate(at=Greatest(Max("start_reported_at"), Max("end_reported_at")))
        .values("at")
    )
    counts = _counts("assessments__", now, _late_response("assessments"), period_q, "withdrawn_at")
    # Reminders that failed, or that e-mail had to deliver instead of her chosen channel.
    problems = (
        ReminderLog.objects.filter(participant=OuterRef("pk"))
        .filter(Q(status=ReminderStatus.FAILED) | ~Q(delivery_problem=""))
        .order_by()
        .values("participant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        participants.select_related("site")
        .annotate(
            **counts,
            periods_reported=Coalesce(Subquery(periods_reported), 0),
            reminder_problems=Coalesce(Subquery(problems), 0),
            last_activity=Greatest(
                Max("assessments__submitted_at", filter=period_q), Subquery(last_report)
            ),
        )
        .annotate(compliance=_percentage())
        .order_by("site__code", "subject_id")
    )


def compliance_by_site(
    *, participants: QuerySet[Participant], now: datetime, period: int | None = None
) -> list[dict[str, Any]]:
    """One row per site (site code and name, participants, the counts and compliance), plus
    periods reported. Two queries."""
    assessments = Assessment.objects.filter(participant__in=participants.values("pk"))
    periods = MenstrualPeriod.objects.filter(participant__in=participants.values("pk"))
    if period:
        assessments = assessments.filter(period_number=period)
        periods = periods.filter(number=period)
    rows = list(
        assessments.order_by()
        .values(site_code=F("participant__site__code"), site_name=F("participant__site__name"))
        .annotate(
            participants=Count("participant", distinct=True),
            **_counts("", now, _late_response("pk"), Q(), "participant__withdrawn_at"),
        )
        .annotate(compliance=_percentage())
        .order_by("site_code")
    )
    reported = dict(
        periods.order_by()
        .values_list("participant__site__code")
        .annotate(n=Count("pk"))
        .values_list("participant__site__code", "n")
    )
    for row in rows:
        row["periods_reported"] = reported.get(row["site_code"], 0)
    return rows


def assessments_overdue(
    *, participants: QuerySet[Participant], now: datetime, hours: int = OVERDUE_HOURS
) -> QuerySet[Assessment]:
    """Open, unsubmitted assessments of active participants whose window closes within
    `hours`, soonest first. One query."""
    return (
        Assessment.objects.filter(
            participant__in=participants.values("pk"),
            participant__status=ParticipantStatus.ACTIVE,
            status__in=UNSUBMITTED,
            opens_at__lte=now,
            closes_at__gt=now,
            closes_at__lte=now + timedelta(hours=hours),
        )
        .select_related("participant__site")
        .order_by("closes_at", "participant__subject_id")
    )
