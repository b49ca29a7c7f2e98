"""The start of the next period after the study's last one: it closes the last cycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from diary.exports.sql import reported_period
from diary.models import (
    Assessment,
    AuditAction,
    AuditEvent,
    ClosingPeriodStart,
    MenstrualPeriod,
)
from diary.services.periods import (
    period_closing_report,
    period_correct,
    period_end_report,
    period_start_report,
)
from diary.services.site_actions import participant_withdraw

pytestmark = pytest.mark.django_db

FIRST = date(2026, 1, 5)
CYCLE = 28


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)  # 12:00 in Copenhagen


def report_periods(participant, count: int, *, cycle: int = CYCLE) -> MenstrualPeriod:
    """Periods 1..count, each started `cycle` days after the last and ended 4 days in, each
    reported on its own day; the last one."""
    period = None
    for k in range(count):
        start = FIRST + timedelta(days=cycle * k)
        period = period_start_report(
            participant=participant, started_on=start, actor=None, now=noon(start)
        )
        end = start + timedelta(days=4)
        period_end_report(period=period, ended_on=end, actor=None, now=noon(end))
    return period


def cycle_lengths(participant) -> dict[int, int | None]:
    """Each assessment's cycle length through the shared SQL fragment, as exports read it."""
    fragment = reported_period(
        period_id="a.period_id",
        participant_id="a.participant_id",
        period_number="a.period_number",
        outer=True,
    )
    cycle = fragment.outputs["cycle_length_days"]
    sql = (
        f"SELECT a.period_number, {cycle} FROM diary_assessment a {fragment.joins}"  # noqa: S608
        " WHERE a.participant_id = %s ORDER BY a.period_number"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [participant.pk])
        return dict(cursor.fetchall())


def test_the_closing_start_gives_the_last_period_its_cycle_length(world):
    participant = world.participant_a
    last = report_periods(participant, 6)
    assert cycle_lengths(participant)[6] is None
    closing_day = last.started_on + timedelta(days=31)
    closing = period_closing_report(
        participant=participant, started_on=closing_day, actor=None, now=noon(closing_day)
    )
    assert (closing.follows_number, closing.started_on) == (6, closing_day)
    assert cycle_lengths(participant) == {1: 28, 2: 28, 3: 28, 4: 28, 5: 28, 6: 31}
    # A marker, not a period: no seventh period, no questionnaire.
    assert participant.periods.count() == 6
    assert Assessment.objects.filter(participant=participant).count() == 6
    event = AuditEvent.objects.get(action=AuditAction.PERIOD_REPORTED, details__closing_start=True)
    assert event.details == {"closing_start": True, "follows": 6,
                             "started_on": closing_day.isoformat()}  # fmt: skip


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (1, "cannot be in the future"),
        (-8, "at most 7 days ago"),
        (-27, r"must start after period 6 \(ended"),
    ],
)
def test_a_closing_date_in_the_future_too_far_back_or_inside_the_last_period_is_refused(
    world, offset, message
):
    participant = world.participant_a
    last = report_periods(participant, 6)
    today = last.started_on + timedelta(days=28)
    with pytest.raises(ValidationError, match=message):
        period_closing_report(
            participant=participant, started_on=today + timedelta(days=offset), actor=None,
            now=noon(today) if offset != -27 else noon(last.started_on + timedelta(days=5)),
        )  # fmt: skip
    assert not ClosingPeriodStart.objects.exists()


def test_a_closing_report_before_the_last_period_started_is_refused(world):
    participant = world.participant_a
    fifth = report_periods(participant, 5)
    day = fifth.started_on + timedelta(days=28)
    with pytest.raises(ValidationError, match=r"only after the start of your last study period "
                                              r"\(period 6\)"):  # fmt: skip
        period_closing_report(participant=participant, started_on=day, actor=None, now=noon(day))
    assert not ClosingPeriodStart.objects.exists()


def test_a_second_closing_report_is_refused_and_the_first_stays(world):
    participant = world.participant_a
    last = report_periods(participant, 6)
    day = last.started_on + timedelta(days=29)
    period_closing_report(participant=participant, started_on=day, actor=None, now=noon(day))
    later = day + timedelta(days=1)
    with pytest.raises(ValidationError, match="already been reported"):
        period_closing_report(
            participant=participant, started_on=later, actor=None, now=noon(later)
        )
    assert list(ClosingPeriodStart.objects.values_list("started_on", flat=True)) == [day]


def test_a_withdrawn_participant_cannot_report_the_closing_start(world):
    participant = world.participant_a
    last = report_periods(participant, 6)
    day = last.started_on + timedelta(days=29)
    participant_withdraw(
        participant=participant, reason="Moved abroad", actor=world.coordinator1, now=noon(day)
    )
    with pytest.raises(ValidationError, match="Only an active participant"):
        period_closing_report(participant=participant, started_on=day, actor=None, now=noon(day))
    assert not ClosingPeriodStart.objects.exists()


def test_the_last_period_must_end_before_the_closing_start(world):
    participant = world.participant_a
    start = FIRST + timedelta(days=CYCLE * 5)
    for k in range(5):
        day = FIRST + timedelta(days=CYCLE * k)
        period_start_report(participant=participant, started_on=day, actor=None, now=noon(day))
    last = period_start_report(
        participant=participant, started_on=start, actor=None, now=noon(start)
    )
    closing_day = start + timedelta(days=1)
    period_closing_report(
        participant=participant, started_on=closing_day, actor=None, now=noon(closing_day)
    )
    with pytest.raises(ValidationError, match="must end before the next one started"):
        period_end_report(period=last, ended_on=closing_day, actor=None, now=noon(closing_day))
    with pytest.raises(ValidationError, match="must end before the next one started"):
        period_correct(period=last, started_on=closing_day, actor=None, now=noon(closing_day))
    last.refresh_from_db()
    assert (last.started_on, last.ended_on) == (start, None)


def test_the_database_refuses_a_closing_start_after_another_period_than_the_last(world):
    participant = world.participant_a
    with pytest.raises(IntegrityError, match="follows the study's last period"), \
            transaction.atomic():  # fmt: skip
        ClosingPeriodStart.objects.create(
            participant=participant, follows_number=5, started_on=FIRST,
            start_reported_at=noon(FIRST),
        )  # fmt: skip
    ClosingPeriodStart.objects.create(
        participant=participant, follows_number=6, started_on=FIRST, start_reported_at=noon(FIRST)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosingPeriodStart.objects.create(
            participant=participant, follows_number=6, started_on=FIRST,
            start_reported_at=noon(FIRST),
        )  # fmt: skip


# --- the page -------------------------------------------------------------------------------


def six_periods_until_yesterday(participant) -> MenstrualPeriod:
    """Six 28-day cycles, the last one started 30 days ago (ended 26 days ago)."""
    today = datetime.now(UTC).date()
    first = today - timedelta(days=30 + CYCLE * 5)
    period = None
    for k in range(6):
        start = first + timedelta(days=CYCLE * k)
        period = period_start_report(
            participant=participant, started_on=start, actor=None, now=noon(start)
        )
        end = start + timedelta(days=4)
        period_end_report(period=period, ended_on=end, actor=None, now=noon(end))
    return period


def test_home_asks_for_the_closing_start_after_the_last_period_then_says_finished(client, world):
    participant = world.participant_a
    six_periods_until_yesterday(participant)
    client.force_login(participant.user)
    home = client.get(reverse("diary:home")).content.decode()
    assert "My next period has started" in home
    assert "My period has started" not in home
    today = datetime.now(UTC).date() - timedelta(days=1)
    response = client.post(reverse("diary:period_closing"), {"started_on": today.isoformat()})
    assert response.url == reverse("diary:home")
    home = client.get(reverse("diary:home")).content.decode()
    assert "There is no questionnaire for it." in home  # the confirmation
    assert "Next period after the study: started" in home
    assert "My next period has started" not in home
    assert "You have reported every period of the study. Thank you" in home


def test_the_closing_page_before_the_last_period_shows_a_clear_message(client, world):
    participant = world.participant_a
    client.force_login(participant.user)
    today = datetime.now(UTC).date() - timedelta(days=1)
    response = client.post(reverse("diary:period_closing"), {"started_on": today.isoformat()})
    assert response.status_code == 200
    assert "only after the start of your last study period (period 6)" in (
        response.content.decode()
    )
    assert not ClosingPeriodStart.objects.exists()


def test_the_closing_page_is_only_for_participants(client, world):
    # Staff have no diary: she is sent to the admin and nothing is stored.
    client.force_login(world.coordinator1)
    response = client.get(reverse("diary:period_closing"))
    assert response.status_code == 302 and response.url == reverse("admin:index")
