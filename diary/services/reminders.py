"""Reminders: planned into the reminder log once per thing, sent once, in local time.

Three kinds, each only to an active participant of a study with reminders switched on who has
an e-mail address and has not yet done the thing (sent on the channel she chose, e-mail as the
fallback: diary.services.reminder_delivery):

- window_opened: her questionnaire window has opened and she has not submitted;
- window_closing: the window closes within the study's `reminder_before_close_hours`;
- period_nudge: her next period was expected (mean cycle so far, else the study default)
  `period_nudge_days` ago and she has not reported it.

`reminders_plan` inserts one pending row per key (INSERT ... ON CONFLICT DO NOTHING), so
running it twice, or in two beat processes at once, plans nothing twice. `reminders_send_due`
claims due rows one at a time with SELECT ... FOR UPDATE SKIP LOCKED, re-checks that the
reminder is still needed, and sends it; a row another process holds is skipped, and a sent
row is never pending again. Nothing is sent inside the study's quiet hours in her time zone.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Prefetch, QuerySet

from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    LockLevel,
    MenstrualPeriod,
    Participant,
    ParticipantStatus,
    ReminderKind,
    ReminderLog,
    ReminderStatus,
)
from diary.rules import reminders as reminder_rules
from diary.rules.local_time import local_date, local_midnight
from diary.services.audit import audit_record
from diary.services.reminder_delivery import EmailFailed, reminder_deliver

# A closing reminder pulled back before the night is sent this long before quiet hours begin.
_EVENING_MARGIN = timedelta(hours=1)
_OPEN_STATUSES = (AssessmentStatus.SCHEDULED, AssessmentStatus.OPEN)


def _tz(participant: Participant) -> ZoneInfo:
    return ZoneInfo(participant.time_zone)


def _out_of_quiet_hours(participant: Participant, when: datetime) -> datetime:
    study = participant.study
    return reminder_rules.quiet_hours_shift(
        when, tz=_tz(participant), start=study.quiet_hours_start, end=study.quiet_hours_end
    )


def reminder_closing_due(assessment: Assessment) -> datetime | None:
    """When the closing reminder of an assessment is due, or None when it has none.

    None when the study sends no closing reminder, or when it would not come after the
    opening reminder (a window shorter than the reminder's lead time): one e-mail says it all.
    A closing reminder that quiet hours would push past the close is sent the evening before.
    """
    participant = assessment.participant
    study = participant.study
    if not study.reminder_before_close_hours or assessment.closes_at is None:
        return None
    trigger = assessment.closes_at - timedelta(hours=study.reminder_before_close_hours)
    due = _out_of_quiet_hours(participant, trigger)
    if due >= assessment.closes_at:
        due = reminder_rules.quiet_hours_last_before(
            trigger,
            tz=_tz(participant),
            start=study.quiet_hours_start,
            end=study.quiet_hours_end,
            margin=_EVENING_MARGIN,
        )
    if assessment.opens_at is not None and due <= _out_of_quiet_hours(
        participant, assessment.opens_at
    ):
        return None
    return due


def _eligible_participants() -> QuerySet[Participant]:
    return (
        Participant.objects.filter(
            status=ParticipantStatus.ACTIVE,
            study__reminders_enabled=True,
            # A locked study takes no new entries: nothing to remind her of.
            study__lock_level=LockLevel.OPEN,
            contact__isnull=False,
        )
        .exclude(contact__email="")
        .select_related("study")
    )


def _row(
    *,
    participant: Participant,
    kind: ReminderKind,
    key: str,
    period_number: int,
    due_at: datetime,
    now: datetime,
    assessment: Assessment | None = None,
) -> ReminderLog:
    return ReminderLog(
        participant=participant,
        assessment=assessment,
        kind=kind,
        key=key,
        period_number=period_number,
        due_at=due_at,
        next_attempt_at=due_at,
        created_at=now,
    )


def _window_rows(now: datetime) -> list[ReminderLog]:
    rows = []
    open_now = Assessment.objects.filter(
        participant__in=_eligible_participants(),
        status__in=_OPEN_STATUSES,
        opens_at__lte=now,
        closes_at__gt=now,
    ).select_related("participant__study")
    for assessment in open_now:
        participant = assessment.participant
        closing_due = reminder_closing_due(assessment)
        trigger = (
            assessment.closes_at - timedelta(hours=participant.study.reminder_before_close_hours)
            if closing_due is not None
            else None
        )
        closing_time = closing_due is not None and (closing_due <= now or trigger <= now)
        if closing_time:
            rows.append(
                _row(
                    participant=participant,
                    assessment=assessment,
                    kind=ReminderKind.WINDOW_CLOSING,
                    key=f"{ReminderKind.WINDOW_CLOSING}:{assessment.pk}",
                    period_number=assessment.period_number,
                    due_at=closing_due,
                    now=now,
                )
            )
        if closing_due is None or now < closing_due:
            rows.append(
                _row(
                    participant=participant,
                    assessment=assessment,
                    kind=ReminderKind.WINDOW_OPENED,
                    key=f"{ReminderKind.WINDOW_OPENED}:{assessment.pk}",
                    period_number=assessment.period_number,
                    due_at=_out_of_quiet_hours(participant, assessment.opens_at),
                    now=now,
                )
            )
    return rows


def _nudge_rows(now: datetime) -> list[ReminderLog]:
    rows = []
    awaiting = (
        _eligible_participants()
        .annotate(reported=Count("periods"))
        .filter(reported__lt=F("study__number_of_periods"))
        .prefetch_related(
            Prefetch("periods", queryset=MenstrualPeriod.objects.only("participant", "started_on"))
        )
    )
    for participant in awaiting:
        tz = _tz(participant)
        starts = [period.started_on for period in participant.periods.all()]
        anchor = local_date(participant.activated_at, tz) if participant.activated_at else None
        expected = reminder_rules.next_period_expected_on(
            starts=starts, default_cycle_days=participant.study.expected_cycle_days, anchor=anchor
        )
        if expected is None:
            continue
        trigger = local_midnight(expected + timedelta(days=participant.study.period_nudge_days), tz)
        if trigger > now:
            continue
        number = len(starts) + 1
        rows.append(
            _row(
                participant=participant,
                kind=ReminderKind.PERIOD_NUDGE,
                key=f"{ReminderKind.PERIOD_NUDGE}:{participant.pk}:{number}",
                period_number=number,
                due_at=_out_of_quiet_hours(participant, trigger),
                now=now,
            )
        )
    return rows


@transaction.atomic
def reminders_plan(*, now: datetime) -> int:
    """Log a pending reminder for everything that has become due; returns how many were new.

    Idempotent: a key already in the log is left alone, and the unique constraint on the key
    turns a concurrent duplicate into a no-op (ON CONFLICT DO NOTHING) instead of an error.
    """
    rows = _window_rows(now) + _nudge_rows(now)
    known = set(
        ReminderLog.objects.filter(key__in=[row.key for row in rows]).values_list("key", flat=True)
    )
    new = [row for row in rows if row.key not in known]
    ReminderLog.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _no_longer_needed(log: ReminderLog, now: datetime) -> str:
    """Why a pending reminder must not be sent any more, or "" when it still should be."""
    participant = log.participant
    if participant.status != ParticipantStatus.ACTIVE:
        return "The participant is not active."
    if not participant.study.reminders_enabled:
        return "Reminders are switched off for the study."
    if participant.study.lock_level != LockLevel.OPEN:
        return "The study is locked: it takes no new entries."
    if not getattr(getattr(participant, "contact", None), "email", ""):
        return "No e-mail address on file."
    if log.kind == ReminderKind.PERIOD_NUDGE:
        if participant.periods.filter(number__gte=log.period_number).exists():
            return "The period has been reported."
        return ""
    assessment = log.assessment
    if assessment.status == AssessmentStatus.SUBMITTED:
        return "The questionnaire has been submitted."
    if assessment.status not in _OPEN_STATUSES or assessment.closes_at is None:
        return "The questionnaire window is no longer open."
    if now >= assessment.closes_at:
        return "The questionnaire window has closed."
    if log.kind == ReminderKind.WINDOW_OPENED:
        closing_due = reminder_closing_due(assessment)
        if closing_due is not None and now >= closing_due:
            return "Replaced by the closing reminder."
    return ""


def _retry_or_fail(log: ReminderLog, failure: EmailFailed, now: datetime) -> str:
    log.attempts += 1
    error = failure.error
    # SMTP errors may quote the recipient; contact details stay out of the log staff read.
    text = str(error).replace(log.participant.contact.email, "<recipient>")
    log.last_error = f"{type(error).__name__}: {text}"[:1000]
    log.delivery_problem = "; ".join(failure.problems)[:1000]
    delay = reminder_rules.retry_delay(log.attempts, delays_minutes=settings.REMINDER_RETRY_MINUTES)
    if delay is None:
        log.status = ReminderStatus.FAILED
        outcome = "failed"
    else:
        log.next_attempt_at = _out_of_quiet_hours(log.participant, now + delay)
        outcome = "retrying"
    log.save(
        update_fields=["attempts", "last_error", "delivery_problem", "status", "next_attempt_at"]
    )
    return outcome


@transaction.atomic
def _reminder_send_next(*, now: datetime) -> str | None:
    """Claim one due pending reminder and settle it; returns the outcome, None when none is due.

    The row stays locked until the outcome is stored, so no other process can send it too.
    """
    log = (
        ReminderLog.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
        .select_related("participant__study", "participant__contact", "assessment")
        .prefetch_related("participant__push_subscriptions")
        .filter(status=ReminderStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .first()
    )
    if log is None:
        return None
    reason = _no_longer_needed(log, now)
    if reason:
        log.status = ReminderStatus.CANCELLED
        log.cancel_reason = reason
        log.save(update_fields=["status", "cancel_reason"])
        return "cancelled"
    allowed = _out_of_quiet_hours(log.participant, now)
    if allowed > now:  # the beat ran late into her night: wait for the morning
        log.next_attempt_at = allowed
        log.save(update_fields=["next_attempt_at"])
        return "postponed"
    try:
        delivery = reminder_deliver(log)
    except EmailFailed as failure:
        return _retry_or_fail(log, failure, now)
    log.attempts += 1
    log.status = ReminderStatus.SENT
    log.sent_at = now
    log.channel = delivery.channel
    log.delivery_problem = delivery.problem[:1000]
    log.save(update_fields=["attempts", "status", "sent_at", "channel", "delivery_problem"])
    audit_record(
        action=AuditAction.REMINDER_SENT,
        actor=None,
        participant=log.participant,
        obj=log,
        occurred_at=now,
        details={
            "kind": log.kind,
            "period": log.period_number,
            "attempt": log.attempts,
            "channel": delivery.channel,
            "fallback": bool(delivery.problems),
        },
    )
    return "sent"


def reminders_send_due(*, now: datetime, limit: int = 1000) -> dict[str, int]:
    """Send every pending reminder due by `now`, each in its own short transaction.

    Returns counts per outcome: sent, retrying (a failed send scheduled again with backoff),
    failed (no retry left), cancelled (no longer needed), postponed (quiet hours).
    """
    outcomes: Counter[str] = Counter()
    for _ in range(limit):
        outcome = _reminder_send_next(now=now)
        if outcome is None:
            break
        outcomes[outcome] += 1
    return dict(outcomes)


def reminders_dispatch(*, now: datetime) -> dict[str, int]:
    """Plan what has become due, then send what is due: the periodic beat's one call."""
    planned = reminders_plan(now=now)
    return {"planned": planned, **reminders_send_due(now=now)}
