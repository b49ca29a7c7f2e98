"""A hand-built crossover for the flow and the cycle-length tests, through the real services."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from diary.services.participants import participant_enrol
from diary.services.periods import period_closing_report, period_end_report, period_start_report
from diary.services.site_actions import participant_withdraw
from scoring.services import scoring_sweep
from tests.conftest import make_participant
from tests.scoring.submitting import submit

FIRST = date(2026, 1, 5)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)


def diary(
    participant,
    cycles: list[int],
    *,
    periods: int = 6,
    closing: bool = True,
    submitted: tuple[int, ...] = (),
    first: date = FIRST,
) -> date:
    """Report `periods` periods, period k starting cycles[k-1] days after period k-1 (each
    ended 4 days in), then the closing start cycles[periods-1] days after the last, and submit
    the questionnaires of the `submitted` periods. Returns the next start (closing or not)."""
    start = first
    for number in range(1, periods + 1):
        period = period_start_report(
            participant=participant, started_on=start, actor=None, now=noon(start)
        )
        end = start + timedelta(days=4)
        period_end_report(period=period, ended_on=end, actor=None, now=noon(end))
        start = start + timedelta(days=cycles[number - 1])
    if closing:
        period_closing_report(participant=participant, started_on=start, actor=None,
                              now=noon(start))  # fmt: skip
    for number in submitted:
        submit(participant, number=number)
    return start  # fmt: skip


def flow_world(world):
    """world's two randomised participants with nothing reported (S01-001 AP, S02-001 PA),
    plus: S01-010 active but not randomised, S01-011 invited only, S01-020 (AP) withdrawn in
    period 2, S02-020 (PA) all six periods with period 2's questionnaire missing, S01-030 (AP)
    completes everything. Returns (withdrawn participant, her withdrawal date)."""
    enrolled = noon(FIRST - timedelta(days=10))
    make_participant(world.study, world.site1, "S01-010", now=enrolled)
    participant_enrol(study=world.study, site=world.site1, subject_id="S01-011",
                      email="s01-011@example.org", actor=None, now=enrolled)  # fmt: skip
    withdrawn = make_participant(world.study, world.site1, "S01-020", sequence=world.ap,
                                 now=enrolled)  # fmt: skip
    diary(withdrawn, [28, 28], periods=2, closing=False, submitted=(1,))
    day = FIRST + timedelta(days=28 + 6)
    participant_withdraw(participant=withdrawn, reason="Moved abroad", actor=world.coordinator1,
                         now=noon(day))  # fmt: skip
    missing = make_participant(world.study, world.site2, "S02-020", sequence=world.pa,
                               now=enrolled)  # fmt: skip
    diary(missing, [27, 29, 28, 30, 26, 31], submitted=(1, 3, 4, 5, 6))
    complete = make_participant(world.study, world.site1, "S01-030", sequence=world.ap,
                                now=enrolled)  # fmt: skip
    diary(complete, [29, 30, 28, 27, 28, 26], submitted=(1, 2, 3, 4, 5, 6))
    scoring_sweep()
    return withdrawn, day
