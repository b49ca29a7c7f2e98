"""Reminder timing on its own: quiet hours in local time across DST, the expected next period,
retry backoff. No database, no Django."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from diary.rules.reminders import (
    in_quiet_hours,
    mean_cycle_days,
    next_period_expected_on,
    quiet_hours_last_before,
    quiet_hours_shift,
    retry_delay,
)

CPH = ZoneInfo("Europe/Copenhagen")
NYC = ZoneInfo("America/New_York")
SYD = ZoneInfo("Australia/Sydney")
NIGHT = {"start": time(21, 0), "end": time(8, 0)}


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [
        (time(20, 59), False),
        (time(21, 0), True),
        (time(23, 30), True),
        (time(0, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_wrap_midnight(clock: time, quiet: bool) -> None:
    assert in_quiet_hours(clock, **NIGHT) is quiet


def test_quiet_hours_within_one_day_and_switched_off() -> None:
    assert in_quiet_hours(time(3, 0), start=time(1, 0), end=time(6, 0))
    assert not in_quiet_hours(time(23, 0), start=time(1, 0), end=time(6, 0))
    assert not in_quiet_hours(time(3, 0), start=time(0, 0), end=time(0, 0))


def test_daytime_reminder_is_not_moved() -> None:
    due = local(CPH, 2026, 3, 10, 14, 0)
    assert quiet_hours_shift(due, tz=CPH, **NIGHT) == due.astimezone(UTC)


def test_midnight_reminder_waits_for_eight_the_same_morning() -> None:
    due = local(NYC, 2026, 6, 2, 0, 0)
    shifted = quiet_hours_shift(due, tz=NYC, **NIGHT)
    assert shifted.astimezone(NYC) == local(NYC, 2026, 6, 2, 8, 0)


def test_evening_reminder_waits_for_eight_the_next_morning() -> None:
    due = local(SYD, 2026, 6, 2, 22, 15)
    shifted = quiet_hours_shift(due, tz=SYD, **NIGHT)
    assert shifted.astimezone(SYD) == local(SYD, 2026, 6, 3, 8, 0)


def test_spring_forward_night_is_23_hours_yet_ends_at_eight_local() -> None:
    # Copenhagen moves from 02:00 to 03:00 on 29 March 2026.
    due = local(CPH, 2026, 3, 28, 21, 30)
    shifted = quiet_hours_shift(due, tz=CPH, **NIGHT)
    assert shifted.astimezone(CPH) == local(CPH, 2026, 3, 29, 8, 0)
    assert shifted - local(CPH, 2026, 3, 28, 8, 0) == timedelta(hours=23)


def test_fall_back_night_is_25_hours_yet_ends_at_eight_local() -> None:
    # New York moves from 02:00 back to 01:00 on 1 November 2026.
    due = local(NYC, 2026, 10, 31, 23, 0)
    shifted = quiet_hours_shift(due, tz=NYC, **NIGHT)
    assert shifted.astimezone(NYC) == local(NYC, 2026, 11, 1, 8, 0)
    assert shifted - local(NYC, 2026, 10, 31, 8, 0) == timedelta(hours=25)


def test_quiet_hours_ending_at_a_time_skipped_by_dst_moves_forward() -> None:
    # 02:30 does not exist in Copenhagen on 29 March 2026; the reminder goes at 03:30 CEST.
    due = local(CPH, 2026, 3, 29, 1, 0)
    shifted = quiet_hours_shift(due, tz=CPH, start=time(0, 0), end=time(2, 30))
    assert shifted == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_last_moment_before_the_night_for_a_deadline_in_the_night() -> None:
    due = local(CPH, 2026, 5, 5, 2, 0)  # inside the night that began 4 May 21:00
    before = quiet_hours_last_before(due, tz=CPH, **NIGHT, margin=timedelta(hours=1))
    assert before.astimezone(CPH) == local(CPH, 2026, 5, 4, 20, 0)


def test_mean_cycle_is_the_mean_of_gaps_between_starts() -> None:
    starts = [date(2026, 1, 1), date(2026, 1, 31), date(2026, 3, 4)]  # 30 and 32 days
    assert mean_cycle_days(starts) == 31
    assert mean_cycle_days(starts[:1]) is None


def test_next_period_uses_her_mean_cycle() -> None:
    starts = [date(2026, 1, 1), date(2026, 1, 31), date(2026, 3, 4)]
    assert next_period_expected_on(starts=starts, default_cycle_days=28) == date(2026, 4, 4)


def test_next_period_uses_study_default_with_one_start() -> None:
    assert next_period_expected_on(starts=[date(2026, 1, 1)], default_cycle_days=28) == date(
        2026, 1, 29
    )


def test_first_period_is_expected_one_default_cycle_after_joining() -> None:
    expected = next_period_expected_on(starts=[], default_cycle_days=28, anchor=date(2026, 2, 1))
    assert expected == date(2026, 3, 1)
    assert next_period_expected_on(starts=[], default_cycle_days=28) is None


def test_retry_backoff_grows_then_gives_up() -> None:
    delays = (5, 15, 45)
    assert [retry_delay(n, delays_minutes=delays) for n in (1, 2, 3)] == [
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(minutes=45),
    ]
    assert retry_delay(4, delays_minutes=delays) is None


def test_rules_module_imports_no_django() -> None:
    script = (
        "import sys, diary.rules.reminders\n"
        "print([m for m in sys.modules if m == 'django' or m.startswith('django.')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
