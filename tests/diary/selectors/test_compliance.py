"""Blinded compliance counts per participant and site."""

from datetime import timedelta

import pytest
from django.utils import timezone

from diary.models import (
    Assessment,
    AssessmentStatus,
    MenstrualPeriod,
    Participant,
    Response,
    ResponseSource,
)
from diary.selectors.compliance import (
    assessments_overdue,
    compliance_by_participant,
    compliance_by_site,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def set_assessment(participant, number, status, *, closes_in_hours, submitted=False):
    closes = NOW + timedelta(hours=closes_in_hours)
    Assessment.objects.filter(participant=participant, period_number=number).update(
        status=status,
        opens_at=closes - timedelta(days=7),
        closes_at=closes,
        submitted_at=closes - timedelta(days=1) if submitted else None,
        excused_reason="ill" if status == AssessmentStatus.EXCUSED else "",
    )
    return Assessment.objects.get(participant=participant, period_number=number)


@pytest.fixture
def diary_states(world):
    a = world.participant_a
    set_assessment(a, 1, AssessmentStatus.SUBMITTED, closes_in_hours=-500, submitted=True)
    late = set_assessment(a, 2, AssessmentStatus.SUBMITTED, closes_in_hours=-300, submitted=True)
    Response.objects.create(
        assessment=late,
        instrument_key="vas_dysmenorrhea",
        instrument_version="1.0",
        instrument_hash="x",
        answers={"vas_dysmenorrhea": 40},
        submitted_at=late.closes_at + timedelta(days=2),
        submitted_by=world.coordinator1,
        source=ResponseSource.SITE_TRANSCRIPTION,
        reason="Paper form brought to the visit",
    )
    set_assessment(a, 3, AssessmentStatus.MISSED, closes_in_hours=-100)
    set_assessment(a, 4, AssessmentStatus.EXCUSED, closes_in_hours=-50)
    # Closed, but the sweep has not marked it missed yet: counted as missed.
    set_assessment(a, 5, AssessmentStatus.OPEN, closes_in_hours=-1)
    set_assessment(a, 6, AssessmentStatus.OPEN, closes_in_hours=30)
    for number in range(1, 7):
        MenstrualPeriod.objects.create(
            participant=a,
            number=number,
            started_on=(NOW - timedelta(days=200 - 30 * number)).date(),
            start_reported_at=NOW - timedelta(days=200 - 30 * number),
        )
    set_assessment(
        world.participant_b, 1, AssessmentStatus.SUBMITTED, closes_in_hours=-5, submitted=True
    )
    return world


def test_counts_per_participant(diary_states):
    rows = {
        p.subject_id: p
        for p in compliance_by_participant(participants=Participant.objects.all(), now=NOW)
    }
    a = rows["S01-001"]
    counts = {k: getattr(a, k) for k in ("expected", "submitted", "late", "missed", "excused")}
    assert counts == {"expected": 5, "submitted": 2, "late": 1, "missed": 2, "excused": 1}
    assert (a.periods_reported, a.open_now) == (6, 1)
    assert a.compliance == pytest.approx(50.0)
    # The latest of her submissions (period 2, a day before its window closed) and reports.
    assert a.last_activity == NOW - timedelta(hours=300 + 24)
    b = rows["S02-001"]
    assert (b.expected, b.submitted, b.missed, b.compliance) == (1, 1, 0, 100.0)


def test_nothing_due_gives_no_percentage(world):
    row = compliance_by_participant(
        participants=Participant.objects.filter(pk=world.participant_a.pk), now=NOW
    ).get()
    assert row.expected == 0 and row.compliance is None


def test_a_period_filter_counts_that_period_only(diary_states):
    row = compliance_by_participant(
        participants=Participant.objects.filter(subject_id="S01-001"), now=NOW, period=3
    ).get()
    assert (row.periods_reported, row.expected, row.submitted, row.missed) == (1, 1, 0, 1)
    assert row.compliance == 0.0


def test_counts_per_site(diary_states):
    rows = {
        r["site_code"]: r
        for r in compliance_by_site(participants=Participant.objects.all(), now=NOW)
    }
    assert rows["S01"]["participants"] == 1
    assert (rows["S01"]["submitted"], rows["S01"]["late"], rows["S01"]["missed"]) == (2, 1, 2)
    assert rows["S01"]["periods_reported"] == 6
    assert rows["S02"]["compliance"] == 100.0


def test_overdue_lists_open_windows_closing_within_48_hours(diary_states):
    overdue = list(assessments_overdue(participants=Participant.objects.all(), now=NOW))
    assert [(a.participant.subject_id, a.period_number) for a in overdue] == [("S01-001", 6)]


def test_windows_closing_after_a_withdrawal_are_not_counted_as_missed(world):
    a = world.participant_a
    set_assessment(a, 1, AssessmentStatus.MISSED, closes_in_hours=-100)
    set_assessment(a, 2, AssessmentStatus.MISSED, closes_in_hours=-10)
    Participant.objects.filter(pk=a.pk).update(
        status="withdrawn", withdrawn_at=NOW - timedelta(hours=50), withdrawal_reason="moved"
    )
    row = compliance_by_participant(participants=Participant.objects.filter(pk=a.pk), now=NOW).get()
    assert (row.expected, row.missed) == (1, 1)
    site = compliance_by_site(participants=Participant.objects.filter(pk=a.pk), now=NOW)[0]
    assert (site["expected"], site["missed"]) == (1, 1)
