"""Reporting menstrual periods, which anchors each assessment's window."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    ClosingPeriodStart,
    MenstrualPeriod,
    Participant,
    ParticipantStatus,
    Study,
)
from diary.rules.windows import WindowRule, WindowState, window_compute, window_state
from diary.selectors.periods import local_today, period_correctable
from diary.services.audit import audit_record
from diary.services.study_lock import CORRECTION, ENTRY, study_lock_check


def window_rule_of(study: Study) -> WindowRule:
    return WindowRule(
        fallback_open_days=study.window_fallback_open_days,
        length_days=study.window_length_days,
        close_time=study.window_close_time,
    )


def _check_reportable_date(participant: Participant, day: date, now: datetime) -> None:
    today = local_today(participant, now)
    if day > today:
        raise ValidationError(_("The date cannot be in the future."))
    limit = participant.study.backdating_limit_days
    if day < today - timedelta(days=limit):
        raise ValidationError(
            _("The date can be at most %(limit)s days ago. Please contact your study team.")
            % {"limit": limit}
        )


def _assessment_window_set(period: MenstrualPeriod, now: datetime) -> None:
    """Recompute the window of the period's assessment from its reported dates."""
    participant = period.participant
    assessment = Assessment.objects.select_for_update(no_key=True).get(
        participant=participant, period_number=period.number
    )
    if assessment.status in {
        AssessmentStatus.SUBMITTED,
        AssessmentStatus.MISSED,
        AssessmentStatus.EXCUSED,
    }:
        return  # A settled assessment keeps the window it was judged by.
    opens_at, closes_at = window_compute(
        started_on=period.started_on,
        ended_on=period.ended_on,
        rule=window_rule_of(participant.study),
        tz=ZoneInfo(participant.time_zone),
    )
    state = window_state(now=now, opens_at=opens_at, closes_at=closes_at)
    assessment.period = period
    assessment.opens_at = opens_at
    assessment.closes_at = closes_at
    assessment.status = {
        WindowState.OPEN: AssessmentStatus.OPEN,
        WindowState.CLOSED: AssessmentStatus.MISSED,
    }.get(state, AssessmentStatus.SCHEDULED)
    assessment.save(update_fields=["period", "opens_at", "closes_at", "status"])


def _next_start(period: MenstrualPeriod) -> date | None:
    """The first day of the period after `period`: the next study period's, or for the last
    one the closing start's (None while neither is reported)."""
    later = period.participant.periods.filter(number__gt=period.number).order_by("number").first()
    if later is not None:
        return later.started_on
    closing = ClosingPeriodStart.objects.filter(
        participant=period.participant, follows_number=period.number
    ).first()
    return closing.started_on if closing is not None else None


@transaction.atomic
def period_start_report(
    *,
    participant: Participant,
    started_on: date,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> MenstrualPeriod:
    """Record that the participant's next period started on `started_on` (her local date).

    Raises ValidationError when the date is in the future, beyond the backdating limit, not
    after the previous period, or when every period of the study is already reported.
    """
    now = now or timezone.now()
    participant = (
        Participant.objects.select_for_update(no_key=True, of=("self",))
        .select_related("study")
        .get(pk=participant.pk)
    )
    study_lock_check(participant.study, ENTRY)
    if participant.status != ParticipantStatus.ACTIVE:
        raise ValidationError(_("Only an active participant can report periods."))
    _check_reportable_date(participant, started_on, now)
    previous = participant.periods.order_by("-number").first()
    number = previous.number + 1 if previous else 1
    if number > participant.study.number_of_periods:
        raise ValidationError(_("All periods of the study have already been reported."))
    if previous is not None:
        last_day = previous.ended_on or previous.started_on
        if started_on <= last_day:
            message = (
                _("A new period must start after the previous one (ended %(day)s).")
                if previous.ended_on
                else _("A new period must start after the previous one (started %(day)s).")
            )
            raise ValidationError(message % {"day": date_format(last_day, _("j F Y"))})
    period = MenstrualPeriod.objects.create(
        participant=participant, number=number, started_on=started_on, start_reported_at=now
    )
    _assessment_window_set(period, now)
    audit_record(
        action=AuditAction.PERIOD_REPORTED,
        actor=actor,
        participant=participant,
        obj=period,
        occurred_at=now,
        details={"number": number, "started_on": started_on.isoformat()},
    )
    return period


@transaction.atomic
def period_end_report(
    *,
    period: MenstrualPeriod,
    ended_on: date,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> MenstrualPeriod:
    """Record the last day of a period; its questionnaire window opens from that day."""
    now = now or timezone.now()
    period = (
        MenstrualPeriod.objects.select_for_update(no_key=True, of=("self",))
        .select_related("participant__study")
        .get(pk=period.pk)
    )
    participant = period.participant
    study_lock_check(participant.study, ENTRY)
    if period.ended_on is not None:
        raise ValidationError(_("The end of this period has already been reported."))
    _check_reportable_date(participant, ended_on, now)
    if ended_on < period.started_on:
        raise ValidationError(
            _("The period cannot end before it started (%(day)s).")
            % {"day": date_format(period.started_on, _("j F Y"))}
        )
    next_start = _next_start(period)
    if next_start is not None and ended_on >= next_start:
        raise ValidationError(_("The period must end before the next one started."))
    period.ended_on = ended_on
    period.end_reported_at = now
    period.save(update_fields=["ended_on", "end_reported_at"])
    _assessment_window_set(period, now)
    audit_record(
        action=AuditAction.PERIOD_REPORTED,
        actor=actor,
        participant=participant,
        obj=period,
        occurred_at=now,
        details={"number": period.number, "ended_on": ended_on.isoformat()},
    )
    return period


@transaction.atomic
def period_correct(
    *,
    period: MenstrualPeriod,
    actor: AbstractBaseUser | None,
    started_on: date | None = None,
    ended_on: date | None = None,
    now: datetime | None = None,
) -> MenstrualPeriod:
    """Correct a reported start and/or end date within the study's grace time.

    The new dates are checked like a new report (not in the future, within the backdating
    limit, after the previous period, before the next one, end not before start). The window
    of the period's questionnaire is recomputed unless it is settled (submitted, missed,
    excused). Audited as PERIOD_CORRECTED with the old and the new values. Raises
    ValidationError when a date is past its grace time or breaks a rule; nothing changes then.
    """
    now = now or timezone.now()
    period = (
        MenstrualPeriod.objects.select_for_update(no_key=True, of=("self",))
        .select_related("participant__study")
        .get(pk=period.pk)
    )
    participant = period.participant
    study_lock_check(participant.study, CORRECTION)
    correctable = period_correctable(period, now)
    changes = {
        name: value
        for name, value in (("started_on", started_on), ("ended_on", ended_on))
        if value is not None and value != getattr(period, name)
    }
    if not changes:
        raise ValidationError(_("Nothing to correct: the dates are the same as before."))
    hours = participant.study.period_correction_grace_hours
    for name in changes:
        if not correctable[name]:
            raise ValidationError(
                _(
                    "This date can only be corrected within %(hours)s hours of reporting it. "
                    "Please contact your study team."
                )
                % {"hours": hours}
            )
        _check_reportable_date(participant, changes[name], now)
    new_start = changes.get("started_on", period.started_on)
    new_end = changes.get("ended_on", period.ended_on)
    if new_end is not None and new_end < new_start:
        raise ValidationError(_("The period cannot end before it started."))
    previous = participant.periods.filter(number__lt=period.number).order_by("-number").first()
    if previous is not None and new_start <= (previous.ended_on or previous.started_on):
        raise ValidationError(_("A period must start after the previous one."))
    next_start = _next_start(period)
    if next_start is not None and (new_end or new_start) >= next_start:
        raise ValidationError(_("A period must end before the next one started."))
    old = {name: getattr(period, name).isoformat() for name in changes}
    for name, value in changes.items():
        setattr(period, name, value)
    period.save(update_fields=list(changes))
    _assessment_window_set(period, now)
    audit_record(
        action=AuditAction.PERIOD_CORRECTED,
        actor=actor,
        participant=participant,
        obj=period,
        occurred_at=now,
        details={
            "number": period.number,
            "old": old,
            "new": {name: value.isoformat() for name, value in changes.items()},
        },
    )
    return period


@transaction.atomic
def period_closing_report(
    *,
    participant: Participant,
    started_on: date,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> ClosingPeriodStart:
    """Record the first day of her next period after the study's last one (her local date).

    A closing marker, not a study period: no questionnaire follows it. It gives the last
    period its cycle length. Raises ValidationError, and stores nothing, when she is not an
    active participant (withdrawn, say), when the study's last period has not started yet,
    when it was already reported, or when the date is in the future, beyond the backdating
    limit, or not after the last period (its end, or its start when no end is reported).
    """
    now = now or timezone.now()
    participant = (
        Participant.objects.select_for_update(no_key=True, of=("self",))
        .select_related("study")
        .get(pk=participant.pk)
    )
    study_lock_check(participant.study, ENTRY)
    if participant.status != ParticipantStatus.ACTIVE:
        raise ValidationError(_("Only an active participant can report periods."))
    last_number = participant.study.number_of_periods
    if ClosingPeriodStart.objects.filter(participant=participant).exists():
        raise ValidationError(
            _("The start of your next period after the study has already been reported.")
        )
    last = participant.periods.filter(number=last_number).first()
    if last is None:
        raise ValidationError(
            _("This can be reported only after the start of your last study period (period %(n)s).")
            % {"n": last_number}
        )
    _check_reportable_date(participant, started_on, now)
    last_day = last.ended_on or last.started_on
    if started_on <= last_day:
        message = (
            _("Your next period must start after period %(n)s (ended %(day)s).")
            if last.ended_on
            else _("Your next period must start after period %(n)s (started %(day)s).")
        )
        raise ValidationError(
            message % {"n": last_number, "day": date_format(last_day, _("j F Y"))}
        )
    closing = ClosingPeriodStart.objects.create(
        participant=participant,
        follows_number=last_number,
        started_on=started_on,
        start_reported_at=now,
    )
    audit_record(
        action=AuditAction.PERIOD_REPORTED,
        actor=actor,
        participant=participant,
        obj=closing,
        occurred_at=now,
        details={
            "closing_start": True,
            "follows": last_number,
            "started_on": started_on.isoformat(),
        },
    )
    return closing
