"""Bad input on the period forms: start, end and correction.

Dates malformed, in other formats, far in the past or future, out of range, and another
participant's period id. Each property checks: no server error, a message that says what was
wrong, and nothing stored unless the date is one the rules allow. See tests/bad_input.py for how
examples are isolated.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from diary.models import AuditAction, MenstrualPeriod
from diary.selectors.periods import local_today
from diary.services.periods import period_end_report, period_start_report
from tests.bad_input import BOUNDED, FEW, example_isolated, junk_text, snapshot, text_of

pytestmark = pytest.mark.django_db

BACKDATING_LIMIT = 7  # the world study's default

# Every refusal the period forms can give; each response to a refused date shows one of them.
DATE_MESSAGES = (
    "This field is required.",
    "Enter a valid date.",
    "The date cannot be in the future.",
    f"The date can be at most {BACKDATING_LIMIT} days ago. Please contact your study team.",
    "A new period must start after the previous one",
    "The period cannot end before it started",
    "The period must end before the next one started.",
    "Nothing to correct: the dates are the same as before.",
    "A period must start after the previous one.",
    "A period must end before the next one started.",
)

FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y%m%d", "%d-%m-%Y", "%b %d %Y"]


def date_texts() -> st.SearchStrategy[str]:
    """Dates anywhere in 1-9999 in assorted formats, impossible dates, and junk."""
    return st.one_of(
        st.builds(
            lambda day, fmt: day.strftime(fmt),
            st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
            st.sampled_from(FORMATS),
        ),
        st.sampled_from(
            [
                "2025-02-30",
                "2025-13-01",
                "2025-00-10",
                "0000-01-01",
                "10000-01-01",
                "-2025-01-01",
                "9999-12-31",
                "0001-01-01",
                "2025-1-1T00:00",
                "2025-01-01 00:00:00",
                "today",
                "1e9",
                "2025\x00-01-01",
            ]
        ),
        junk_text(max_size=40),
    )


def today_of(participant) -> date:
    return local_today(participant, timezone.now())


def within_rules(day: date, today: date) -> bool:
    return today - timedelta(days=BACKDATING_LIMIT) <= day <= today


# ---- reporting a start ---------------------------------------------------------------------------


@pytest.fixture
def client_a(client, world):
    client.force_login(world.participant_a.user)
    return client


@BOUNDED
@given(started_on=date_texts())
def test_a_period_start_is_stored_only_for_an_allowed_date(client_a, world, started_on):
    participant = world.participant_a
    with example_isolated():
        before = snapshot()
        response = client_a.post(reverse("diary:period_start"), {"started_on": started_on})
        assert response.status_code in (200, 302)
        periods = list(MenstrualPeriod.objects.filter(participant=participant))
        if response.status_code == 302:
            # A format the form reads (e.g. 11/25/2026): stored only when the rules allow it.
            assert len(periods) == 1
            assert within_rules(periods[0].started_on, today_of(participant))
            return
        assert any(message in text_of(response) for message in DATE_MESSAGES)
        assert periods == []
        assert snapshot() == before  # no MenstrualPeriod, no PERIOD_REPORTED, no window opened


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({}, "This field is required."),
        ({"started_on": ""}, "This field is required."),
        ({"started_on": "2025-02-30"}, "Enter a valid date."),
        ({"started_on": "10000-01-01"}, "Enter a valid date."),
        ({"started_on": "yesterday"}, "Enter a valid date."),
        ({"started_on": "2025-01-01\x00"}, "Enter a valid date."),
        ({"started_on": "x" * 100_000}, "Enter a valid date."),
        ({"started_on": "9999-12-31"}, "The date cannot be in the future."),
        ({"started_on": "0001-01-01"}, "The date can be at most 7 days ago."),
    ],
)
def test_a_refused_period_start_says_why(client_a, world, posted, message):
    before = snapshot()
    response = client_a.post(reverse("diary:period_start"), posted)
    assert response.status_code == 200
    assert message in text_of(response)
    assert snapshot() == before


# ---- reporting an end, correcting ----------------------------------------------------------------


def started(participant, days_ago: int = 3) -> MenstrualPeriod:
    return period_start_report(
        participant=participant,
        started_on=today_of(participant) - timedelta(days=days_ago),
        actor=participant.user,
    )


@pytest.fixture
def open_period(world) -> MenstrualPeriod:
    """Participant A's period 1, started 3 days ago, its end not reported yet."""
    return started(world.participant_a)


@pytest.fixture
def ended_period(world) -> MenstrualPeriod:
    """Participant A's period 1, started 5 days ago and ended 2 days ago, just reported."""
    participant = world.participant_a
    period = started(participant, days_ago=5)
    return period_end_report(
        period=period, ended_on=today_of(participant) - timedelta(days=2), actor=participant.user
    )


@pytest.fixture
def other_period(world) -> MenstrualPeriod:
    return started(world.participant_b)


@BOUNDED
@given(ended_on=date_texts())
def test_a_period_end_is_stored_only_for_an_allowed_date(client_a, world, open_period, ended_on):
    participant = world.participant_a
    period = open_period
    with example_isolated():
        before = snapshot()
        response = client_a.post(
            reverse("diary:period_end", args=[period.pk]), {"ended_on": ended_on}
        )
        assert response.status_code in (200, 302)
        period.refresh_from_db()
        if response.status_code == 302:
            assert period.started_on <= period.ended_on <= today_of(participant)
            return
        assert any(message in text_of(response) for message in DATE_MESSAGES)
        assert period.ended_on is None
        assert snapshot() == before


def test_an_end_before_the_start_is_refused_with_the_start_date(client_a, world):
    period = started(world.participant_a, days_ago=2)
    before = snapshot()
    response = client_a.post(
        reverse("diary:period_end", args=[period.pk]),
        {"ended_on": (period.started_on - timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 200
    assert "The period cannot end before it started" in text_of(response)
    assert snapshot() == before


@BOUNDED
@given(started_on=date_texts(), ended_on=st.one_of(date_texts(), st.none()))
def test_a_correction_is_stored_only_for_allowed_dates(
    client_a, world, ended_period, started_on, ended_on
):
    participant = world.participant_a
    period = ended_period
    posted = {"started_on": started_on}
    if ended_on is not None:
        posted["ended_on"] = ended_on
    with example_isolated():
        before = snapshot()
        response = client_a.post(reverse("diary:period_correct", args=[period.pk]), posted)
        assert response.status_code in (200, 302)
        period.refresh_from_db()
        if response.status_code == 302:
            assert within_rules(period.started_on, today_of(participant))
            assert period.started_on <= period.ended_on <= today_of(participant)
            return
        assert any(message in text_of(response) for message in DATE_MESSAGES)
        assert snapshot() == before  # no changed date, no PERIOD_CORRECTED event


# ---- another participant's period ----------------------------------------------------------------


@FEW
@given(
    view=st.sampled_from(["diary:period_end", "diary:period_correct"]),
    posted=st.dictionaries(
        st.sampled_from(["started_on", "ended_on"]),
        st.one_of(st.just("2026-11-20"), date_texts()),
    ),
)
def test_another_participants_period_is_a_404_and_stays_untouched(
    client_a, other_period, view, posted
):
    other = other_period
    with example_isolated():
        before = snapshot()
        url = reverse(view, args=[other.pk])
        assert client_a.post(url, posted).status_code == 404
        assert client_a.get(url).status_code == 404
        assert snapshot() == before
        other.refresh_from_db()
        assert other.ended_on is None


@pytest.mark.parametrize(
    "path",
    [
        "/diary/period/0/end/",
        "/diary/period/99999999999999999999999/end/",
        "/diary/period/9223372036854775808/correct/",
    ],
)
def test_out_of_range_period_ids_are_404s(client_a, world, path):
    before = snapshot()
    assert client_a.post(path, {"ended_on": "2026-11-20"}).status_code == 404
    assert snapshot() == before


def test_after_every_refusal_the_next_valid_report_still_works(client_a, world):
    """Refusals leave no half-stored state behind: the participant can go on as normal."""
    participant = world.participant_a
    for bad in ("2025-02-30", "9999-12-31", "0001-01-01", ""):
        client_a.post(reverse("diary:period_start"), {"started_on": bad})
    day = today_of(participant) - timedelta(days=1)
    response = client_a.post(reverse("diary:period_start"), {"started_on": day.isoformat()})
    assert response.status_code == 302
    period = MenstrualPeriod.objects.get(participant=participant)
    assert (period.number, period.started_on) == (1, day)
    assert snapshot()["events"][AuditAction.PERIOD_REPORTED] == 1
