"""Reminder timing. Pure: no Django import, no clock; instants and zones are given.

Quiet hours are a local wall-clock range (default 21:00-08:00) in which no reminder is sent.
They are computed on the participant's local calendar with zoneinfo, so on a daylight-saving
day "08:00 the next morning" is still 08:00 on her clock, whether that is 23 or 25 hours after
the previous 08:00.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from diary.rules.local_time import local_datetime


def in_quiet_hours(local: time, *, start: time, end: time) -> bool:
    """Whether a local time of day is quiet. start == end means no quiet hours at all."""
    if start == end:
        return False
    if start < end:  # e.g. 01:00-06:00, within one calendar day
        return start <= local < end
    return local >= start or local < end  # wraps midnight, e.g. 21:00-08:00


def quiet_hours_shift(due: datetime, *, tz: ZoneInfo, start: time, end: time) -> datetime:
    """The first instant at or after `due` (aware) that is outside quiet hours, in UTC.

    A due time inside quiet hours moves to `end` local time: the same morning when it falls
    after midnight, the next morning when it falls in the evening part of the range.
    """
    local = due.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if not in_quiet_hours(clock, start=start, end=end):
        return due.astimezone(UTC)
    day = local.date()
    if start > end and clock >= start:
        day += timedelta(days=1)
    return local_datetime(day, end, tz)


def quiet_hours_last_before(
    due: datetime, *, tz: ZoneInfo, start: time, end: time, margin: timedelta
) -> datetime:
    """The instant `margin` before the quiet hours containing `due` began, in UTC.

    Used when moving a reminder forward would push it past the deadline it warns about.
    """
    local = due.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if not in_quiet_hours(clock, start=start, end=end):
        return due.astimezone(UTC)
    day = local.date()
    if start > end and clock < end:
        day -= timedelta(days=1)  # the quiet night began the evening before
    return local_datetime(day, start, tz) - margin


def mean_cycle_days(starts: Sequence[date]) -> float | None:
    """Mean of her cycle lengths so far (days between consecutive period starts), or None."""
    ordered = sorted(starts)
    if len(ordered) < 2:
        return None
    return (ordered[-1] - ordered[0]).days / (len(ordered) - 1)


def next_period_expected_on(
    *, starts: Sequence[date], default_cycle_days: int, anchor: date | None = None
) -> date | None:
    """The local date her next period is expected to start.

    After her last reported start by her mean cycle length so far (rounded to whole days), or
    by the study default while fewer than two starts are known. With no period reported yet,
    one default cycle after `anchor` (the day she joined); None when there is no anchor either.
    """
    if starts:
        mean = mean_cycle_days(starts)
        cycle = round(mean) if mean is not None else default_cycle_days
        return max(starts) + timedelta(days=cycle)
    if anchor is None:
        return None
    return anchor + timedelta(days=default_cycle_days)


def retry_delay(attempts: int, *, delays_minutes: Sequence[int]) -> timedelta | None:
    """How long to wait after the `attempts`-th failed send; None when no retry is left."""
    if attempts < 1 or attempts > len(delays_minutes):
        return None
    return timedelta(minutes=delays_minutes[attempts - 1])
