"""The data-quality signals: each one from the data that makes it, flagged at the study's
threshold, one query for any number of participants, and the same whatever the allocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from diary.models import (
    Allocation,
    AssessmentStatus,
    AuditAction,
    AuditEvent,
    Participant,
    StudySignalSettings,
)
from diary.selectors.periods import local_today
from diary.selectors.signals import (
    participant_signals,
    signal_definitions,
    signal_settings_of,
    signals_compute,
    trail_fingerprint,
)
from diary.services.corrections import response_correct
from diary.services.drafts import draft_save
from diary.services.periods import period_start_report
from diary.services.submission import assessment_submit
from tests.conftest import make_participant
from tests.scoring.submitting import assessment_open, ehp30_answers, submit

pytestmark = pytest.mark.django_db

CPH = ZoneInfo("Europe/Copenhagen")


def signals_of(participant: Participant, **thresholds) -> tuple[dict, dict]:
    settings = signal_settings_of(participant.study)
    for name, value in thresholds.items():
        setattr(settings, name, value)
    row = participant_signals(participant=participant, thresholds=settings, now=timezone.now())
    return row.values, row.flags


def entry(
    participant: Participant, at: datetime, obj: int, action=AuditAction.SUBMITTED, actor=None
):
    return AuditEvent.objects.create(
        occurred_at=at,
        actor=actor or participant.user,
        action=action,
        participant=participant,
        study=participant.study,
        object_type="diary.Assessment",
        object_id=str(obj),
        unblinded=False,
    )


def test_a_participant_without_data_has_nothing_flagged(world):
    values, flags = signals_of(world.participant_a)
    assert set(values.values()) == {0}
    assert not any(flags.values())


def test_entries_at_night_in_her_own_time_zone(world):
    a = world.participant_a
    # 01:30 and 03:10 in Copenhagen (winter: UTC+1), and 12:00: two at unusual hours.
    for n, hour in enumerate((0, 2, 11)):
        entry(a, datetime(2026, 1, 10 + n, hour, 30 if hour == 0 else 10, tzinfo=UTC), n)
    values, flags = signals_of(a)
    assert values["unusual_hours"] == 2 and flags["unusual_hours"]
    # The same instants are afternoon in Tokyo: nothing unusual for a participant there.
    Participant.objects.filter(pk=a.pk).update(time_zone="Asia/Tokyo")
    assert signals_of(a)[0]["unusual_hours"] == 0


def test_a_night_that_wraps_midnight(world):
    a = world.participant_a
    entry(a, datetime(2026, 1, 10, 22, 30, tzinfo=UTC), 1)  # 23:30 local
    entry(a, datetime(2026, 1, 11, 12, 0, tzinfo=UTC), 2)  # 13:00 local
    values, _ = signals_of(a, night_start_hour=23, night_end_hour=6)
    assert values["unusual_hours"] == 1


def test_entries_made_by_staff_are_not_hers(world):
    a = world.participant_a
    entry(a, datetime(2026, 1, 10, 1, 0, tzinfo=UTC), 1, actor=world.coordinator1)
    assert signals_of(a)[0]["unusual_hours"] == 0


def test_several_questionnaires_in_one_sitting(world):
    a = world.participant_a
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    entry(a, start, 1)
    entry(a, start + timedelta(minutes=5), 2)  # another questionnaire, 5 minutes later
    entry(a, start + timedelta(minutes=9), 3)  # and a third
    entry(a, start + timedelta(days=30), 4)  # a month later: a sitting of its own
    values, flags = signals_of(a)
    assert values["one_sitting"] == 2 and flags["one_sitting"]
    assert signals_of(a, sitting_minutes=3)[0]["one_sitting"] == 0


def test_a_period_start_then_its_questionnaire_is_no_parking_lot(world):
    a = world.participant_a
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    entry(a, start, 7, action=AuditAction.PERIOD_REPORTED)
    entry(a, start + timedelta(minutes=2), 1)
    assert signals_of(a)[0]["one_sitting"] == 0


def test_a_period_reported_days_after_it_started(world):
    a = world.participant_a
    today = local_today(a, timezone.now())
    period_start_report(participant=a, started_on=today - timedelta(days=5), actor=a.user)
    values, flags = signals_of(a)
    assert values["late_report"] == 5 and flags["late_report"]
    assert not signals_of(a, late_report_days=5)[1]["late_report"]


def test_answers_changed_before_submission_count_replacements_not_first_answers(world):
    a = world.participant_a
    assessment = assessment_open(a, 1)
    for code in (0, 1, 2, 3):  # one first answer, three changes
        draft_save(
            assessment=assessment, instrument_key="ehp30", answers={"ehp30_q01": code}, actor=a.user
        )
    draft_save(
        assessment=assessment, instrument_key="ehp30", answers={"ehp30_q02": 4}, actor=a.user
    )
    draft_save(
        assessment=assessment, instrument_key="ehp30", answers={"ehp30_q02": None}, actor=a.user
    )  # cleared: a change too
    values, flags = signals_of(a)
    assert values["answer_changes"] == 4
    assert not flags["answer_changes"]  # default threshold 5
    assert signals_of(a, answer_changes=4)[1]["answer_changes"]


def _vas_submit(participant: Participant, *, client_offset: timedelta | None, rejected=False):
    now = timezone.now()
    metadata: dict = {"server_saved_at": now.isoformat()}
    if client_offset is not None:
        metadata["client_answered_at"] = (now + client_offset).isoformat()
    if rejected:
        metadata["client_answered_at_rejected"] = True
    assessment_submit(
        participant=participant,
        assessment_id=assessment_open(participant, 1).pk,
        answers={"ehp30": ehp30_answers(), "vas_dysmenorrhea": {"vas_dysmenorrhea": 40}},
        metadata={"vas_dysmenorrhea": metadata},
        actor=participant.user,
        now=now,
    )


def test_a_device_clock_far_from_the_server(world):
    _vas_submit(world.participant_a, client_offset=timedelta(minutes=-42))
    values, flags = signals_of(world.participant_a)
    assert values["clock"] == 42 and flags["clock"]
    _vas_submit(world.participant_b, client_offset=timedelta(seconds=-20))
    values, flags = signals_of(world.participant_b)
    assert values["clock"] == 0 and not flags["clock"]


_BEHIND = timedelta(minutes=42, seconds=5)


@pytest.mark.parametrize(
    ("written", "minutes"),
    [
        (lambda at: at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), 42),
        (lambda at: at.astimezone(CPH).strftime("%Y-%m-%dT%H:%M:%S%z"), 42),  # +0100
        (lambda at: at.astimezone(CPH).strftime("%Y-%m-%d %H:%M%z")[:-2], 42),  # +01
        # Not an instant with its offset: never read, so never counted (and never an error).
        (lambda at: at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), 0),
        (lambda at: at.astimezone(UTC).strftime("%Y-%m-%d"), 0),
        (lambda at: "2026-13-45T99:99:00+01:00", 0),
        (lambda at: "infinity", 0),
        (lambda at: "yesterday+01:00", 0),
        (lambda at: "", 0),
    ],
    ids=["Z", "+HHMM", "+HH", "no offset", "date only", "no such day", "infinity", "word", "empty"],
)
def test_a_stored_device_time_is_read_only_as_an_instant_with_its_offset(world, written, minutes):
    a = world.participant_a
    # Half past the minute: the "+HH" form drops the seconds, which must not carry the
    # difference over a whole minute (42 min 5 s behind reads 42 min 40 s once truncated).
    now = timezone.now().replace(second=40, microsecond=0)
    assessment_submit(
        participant=a,
        assessment_id=assessment_open(a, 1).pk,
        answers={"ehp30": ehp30_answers(), "vas_dysmenorrhea": {"vas_dysmenorrhea": 40}},
        metadata={
            "vas_dysmenorrhea": {
                "server_saved_at": now.isoformat(),
                "client_answered_at": written(now - _BEHIND),
            }
        },
        actor=a.user,
        now=now,
    )
    assert signals_of(a)[0]["clock"] == minutes


def test_a_device_time_the_server_rejected_is_flagged(world):
    _vas_submit(world.participant_a, client_offset=None, rejected=True)
    table = signals_compute(
        participants=Participant.objects.filter(pk=world.participant_a.pk),
        thresholds=signal_settings_of(world.study),
        now=timezone.now(),
    )
    row = table.participants[0]
    assert row.flags["clock"] and row.detail["clock_rejected"] == 1


def test_corrections_per_participant_and_per_site(world):
    a = world.participant_a
    ehp30 = submit(a, number=1)["ehp30"]
    for code in (3, 4):
        ehp30 = response_correct(
            response=ehp30,
            answers={**ehp30.answers, "ehp30_q01": code},
            reason="Paper form",
            actor=world.coordinator1,
        )
    table = signals_compute(
        participants=Participant.objects.filter(study=world.study),
        thresholds=signal_settings_of(world.study),
        now=timezone.now(),
    )
    by_subject = {row.subject_id: row for row in table.participants}
    assert by_subject["S01-001"].values["corrections"] == 2
    assert by_subject["S01-001"].flags["corrections"]
    sites = {row.site_code: row for row in table.sites}
    assert sites["S01"].values["corrections"] == 2 and sites["S01"].flags["corrections"]
    assert sites["S02"].values["corrections"] == 0 and not sites["S02"].flags["corrections"]


def test_submissions_in_the_last_hour_of_the_window(world):
    a = world.participant_a
    submit(a, number=1)
    submit(a, number=2)
    for number, minutes in ((1, 20), (2, 50)):
        assessment = a.assessments.get(period_number=number)
        a.assessments.filter(pk=assessment.pk).update(
            closes_at=assessment.submitted_at + timedelta(minutes=minutes)
        )
    values, flags = signals_of(a)
    assert values["last_hour"] == 2 and flags["last_hour"]
    assert signals_of(a, last_hour_minutes=30)[0]["last_hour"] == 1


def test_missed_windows_in_a_row(world):
    a = world.participant_a
    past = timezone.now() - timedelta(days=3)
    statuses = {1: "missed", 2: "missed", 3: "excused", 4: "missed", 5: "open", 6: "missed"}
    for number, status in statuses.items():
        a.assessments.filter(period_number=number).update(
            status=status,
            opens_at=past - timedelta(days=7),
            closes_at=past,  # period 5 is "open" but closed: missed though not yet swept
            excused_reason="ill" if status == "excused" else "",
        )
    values, flags = signals_of(a)
    assert values["missed_in_row"] == 3 and flags["missed_in_row"]


def test_one_query_for_every_participant(world, django_assert_num_queries):
    for n in range(5):
        make_participant(world.study, world.site1, f"S01-1{n:02d}")
    thresholds = StudySignalSettings(study=world.study)
    with django_assert_num_queries(1):
        table = signals_compute(
            participants=Participant.objects.filter(study=world.study),
            thresholds=thresholds,
            now=timezone.now(),
        )
    assert len(table.participants) == 7 and len(table.sites) == 2


def _busy(world) -> None:
    """Data that moves every signal, for both participants."""
    for participant in (world.participant_a, world.participant_b):
        today = local_today(participant, timezone.now())
        period_start_report(
            participant=participant, started_on=today - timedelta(days=6), actor=participant.user
        )
        _vas_submit(participant, client_offset=timedelta(minutes=-30))
        entry(participant, datetime(2026, 1, 10, 1, 0, tzinfo=UTC), 91)
        entry(participant, datetime(2026, 1, 10, 1, 5, tzinfo=UTC), 92)
        participant.assessments.filter(period_number__in=[3, 4]).update(
            status=AssessmentStatus.MISSED,
            opens_at=timezone.now() - timedelta(days=20),
            closes_at=timezone.now() - timedelta(days=10),
        )


def _all_signals(world) -> list:
    table = signals_compute(
        participants=Participant.objects.filter(study=world.study),
        thresholds=signal_settings_of(world.study),
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return [(r.subject_id, r.values, r.flags) for r in table.participants + table.sites]


def test_the_signals_are_the_same_whatever_the_allocation(world):
    """Nothing in them comes from the allocation: swapping every participant's sequence, or
    removing the allocation altogether, changes no value and no flag."""
    _busy(world)
    before = _all_signals(world)
    assert any(any(flags.values()) for _, _, flags in before)  # the data does move them
    Allocation.objects.filter(participant=world.participant_a).update(sequence=world.pa)
    Allocation.objects.filter(participant=world.participant_b).update(sequence=world.ap)
    assert _all_signals(world) == before
    Allocation.objects.all().delete()
    assert _all_signals(world) == before


def test_the_definitions_name_the_study_thresholds(world):
    settings = StudySignalSettings(study=world.study, night_start_hour=1, night_end_hour=4)
    texts = {d.kind: (d.definition, d.threshold) for d in signal_definitions(settings)}
    assert "between 01:00 and 04:00 in her time zone" in texts["unusual_hours"][0]
    assert texts["missed_in_row"][1] == "flagged from 2 in a row"
    assert len(texts) == 8


def test_the_trail_fingerprint_moves_with_new_events(world):
    a = world.participant_a
    before = trail_fingerprint(participant=a)
    entry(a, timezone.now(), 1)
    assert trail_fingerprint(participant=a) != before
