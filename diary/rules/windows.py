"""Assessment window arithmetic. Pure: no Django import, no clock; `now` and `tz` are given.

A window is computed on the participant's local calendar, so a window that crosses a
daylight-saving change still opens at local midnight and closes at the local closing time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from diary.rules.local_time import local_datetime


@dataclass(frozen=True)
class WindowRule:
    fallback_open_days: int  # days after the start when no end has been reported
    length_days: int
    close_time: time


class WindowState(enum.StrEnum):
    NOT_YET_DEFINED = "not_yet_defined"
    BEFORE = "before"
    OPEN = "open"
    CLOSED = "closed"


def window_open_date(*, started_on: date, ended_on: date | None, rule: WindowRule) -> date:
    if ended_on is not None:
        return ended_on
    return started_on + timedelta(days=rule.fallback_open_days)


def window_compute(
    *, started_on: date, ended_on: date | None, rule: WindowRule, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """(opens_at, closes_at) in UTC for the questionnaire that follows a period.

    It opens at local midnight of the day the period ended (or of the fallback day when no end
    is reported) and closes at the rule's local closing time `length_days` later.
    """
    open_day = window_open_date(started_on=started_on, ended_on=ended_on, rule=rule)
    opens_at = local_datetime(open_day, time(0, 0), tz)
    closes_at = local_datetime(open_day + timedelta(days=rule.length_days), rule.close_time, tz)
    return opens_at, closes_at


def window_state(
    *, now: datetime, opens_at: datetime | None, closes_at: datetime | None
) -> WindowState:
    if opens_at is None or closes_at is None:
        return WindowState.NOT_YET_DEFINED
    if now < opens_at:
        return WindowState.BEFORE
    if now >= closes_at:
        return WindowState.CLOSED
    return WindowState.OPEN
