"""The database itself refuses rows that break the trial's invariants."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import ProgrammingError
from django.utils import timezone

from diary.models import (
    Allocation,
    AllocationSource,
    Assessment,
    AuditAction,
    AuditEvent,
    MenstrualPeriod,
    Participant,
    Response,
    ResponseSource,
    SequenceBlock,
    Study,
)
from tests.conftest import make_participant, make_study

pytestmark = pytest.mark.django_db


def test_enrolment_schedules_one_assessment_per_period(world):
    numbers = list(
        world.participant_a.assessments.order_by("period_number").values_list(
            "period_number", flat=True
        )
    )
    assert numbers == [1, 2, 3, 4, 5, 6]


def test_second_assessment_for_the_same_period_is_rejected(world):
    with pytest.raises(IntegrityError, match="assessment_one_per_period"):
        Assessment.objects.create(participant=world.participant_a, period_number=2)


def test_assessment_beyond_the_studys_periods_is_rejected(world):
    with pytest.raises(IntegrityError, match="beyond the study's number of periods"):
        Assessment.objects.create(participant=world.participant_a, period_number=7)


def test_period_number_beyond_the_studys_count_is_rejected(world):
    with pytest.raises(IntegrityError, match="beyond the study's number of periods"):
        MenstrualPeriod.objects.create(
            participant=world.participant_a,
            number=7,
            started_on=date(2026, 1, 1),
            start_reported_at=timezone.now(),
        )


def test_period_within_a_shorter_studys_count_is_checked_against_that_study(db):
    short = make_study("SHORT", number_of_periods=2, periods_per_block=1)
    site = short.sites.create(code="X", name="X")
    participant = make_participant(short, site, "X01-001")
    MenstrualPeriod.objects.create(
        participant=participant,
        number=2,
        started_on=date(2026, 1, 1),
        start_reported_at=timezone.now(),
    )
    with pytest.raises(IntegrityError):
        MenstrualPeriod.objects.create(
            participant=participant,
            number=3,
            started_on=date(2026, 2, 1),
            start_reported_at=timezone.now(),
        )


def test_same_period_number_twice_is_rejected(world):
    MenstrualPeriod.objects.create(
        participant=world.participant_a,
        number=1,
        started_on=date(2026, 1, 1),
        start_reported_at=timezone.now(),
    )
    with pytest.raises(IntegrityError, match="period_number_unique"):
        MenstrualPeriod.objects.create(
            participant=world.participant_a,
            number=1,
            started_on=date(2026, 2, 1),
            start_reported_at=timezone.now(),
        )


def test_period_ending_before_it_started_is_rejected(world):
    with pytest.raises(IntegrityError, match="period_ends_after_start"):
        MenstrualPeriod.objects.create(
            participant=world.participant_a,
            number=1,
            started_on=date(2026, 1, 5),
            ended_on=date(2026, 1, 4),
            start_reported_at=timezone.now(),
        )


def test_sequence_names_one_treatment_per_block(world):
    with pytest.raises(IntegrityError, match="sequence_block_unique"):
        SequenceBlock.objects.create(sequence=world.ap, block=1, treatment=world.placebo)


def test_second_allocation_for_a_participant_is_rejected(world):
    with pytest.raises(IntegrityError):
        Allocation.objects.create(
            participant=world.participant_a,
            sequence=world.pa,
            source=AllocationSource.RANDOMIZER,
            allocated_at=timezone.now(),
        )


def test_study_id_is_unique_within_a_study_but_not_across_studies(world):
    with (
        pytest.raises(IntegrityError, match="participant_subject_id_unique_in_study"),
        transaction.atomic(),
    ):
        Participant.objects.create(
            study=world.study,
            site=world.site1,
            subject_id="S01-001",
            time_zone="UTC",
            enrolled_at=timezone.now(),
        )
    other = make_study("OTHER")
    site = other.sites.create(code="S01", name="Elsewhere")
    twin = Participant.objects.create(
        study=other, site=site, subject_id="S01-001", time_zone="UTC", enrolled_at=timezone.now()
    )
    assert twin.pk is not None


def test_blocks_must_divide_the_number_of_periods(db):
    with pytest.raises(IntegrityError, match="study_blocks_divide_periods"):
        Study.objects.create(code="ODD", name="Odd", number_of_periods=5, periods_per_block=3)


def test_withdrawal_needs_a_reason(world):
    world.participant_a.status = "withdrawn"
    world.participant_a.withdrawn_at = timezone.now()
    with pytest.raises(IntegrityError, match="participant_withdrawal_has_reason"):
        world.participant_a.save()


def _response(world) -> Response:
    assessment = world.participant_a.assessments.get(period_number=1)
    return Response.objects.create(
        assessment=assessment,
        instrument_key="vas_dysmenorrhea",
        instrument_version="1.0",
        instrument_hash="x" * 64,
        answers={"vas_dysmenorrhea": 40},
        submitted_at=timezone.now(),
        submitted_by=world.participant_a.user,
        source=ResponseSource.PARTICIPANT_WEB,
    )


def test_submitted_response_cannot_be_updated_or_deleted(world):
    # The application role has no UPDATE or DELETE on responses (the owner's guards refusing
    # them too: tests/diary/test_append_only_guards.py).
    response = _response(world)
    denied = "permission denied for table diary_response"
    with pytest.raises(ProgrammingError, match=denied), transaction.atomic():
        Response.objects.filter(pk=response.pk).update(answers={"vas_dysmenorrhea": 90})
    with pytest.raises(ProgrammingError, match=denied), transaction.atomic():
        Response.objects.filter(pk=response.pk).delete()
    response.refresh_from_db()
    assert response.answers == {"vas_dysmenorrhea": 40}


def test_second_original_response_to_the_same_instrument_is_rejected(world):
    _response(world)
    with pytest.raises(IntegrityError, match="response_one_original_per_instrument"):
        _response(world)


def test_site_transcription_requires_a_reason(world):
    assessment = world.participant_a.assessments.get(period_number=1)
    with pytest.raises(IntegrityError, match="response_site_entry_has_reason"):
        Response.objects.create(
            assessment=assessment,
            instrument_key="vas_dysmenorrhea",
            instrument_version="1.0",
            instrument_hash="x" * 64,
            answers={},
            submitted_at=timezone.now(),
            submitted_by=world.coordinator1,
            source=ResponseSource.SITE_TRANSCRIPTION,
        )


def test_audit_events_cannot_be_changed_even_with_raw_sql(world):
    event = AuditEvent.objects.create(
        action=AuditAction.LOGIN, actor_label="someone", unblinded=False
    )
    for statement in (
        "UPDATE diary_auditevent SET actor_label = 'someone else' WHERE id = %s",
        "DELETE FROM diary_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(ProgrammingError, match="permission denied for table diary_auditevent"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    event.refresh_from_db()
    assert event.actor_label == "someone"


def test_row_history_records_every_change_with_old_and_new_values(world):
    participant = world.participant_a
    # A bulk update bypasses save() and signals; the trigger still records it.
    Participant.objects.filter(pk=participant.pk).update(language="da")
    history = list(participant.events.order_by("pgh_id").values_list("pgh_label", "language"))
    assert history[0] == ("insert", "en")
    assert history[-1] == ("update", "da")
    assert history[-2][1] == "en"


def test_row_history_cannot_be_rewritten(world):
    event = world.participant_a.events.first()
    with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {event._meta.db_table} SET language = 'xx' WHERE pgh_id = %s",  # noqa: S608
            [event.pk],
        )


def test_enrolment_writes_an_audit_event(world):
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.ENROLLED, participant=world.participant_a
        ).count()
        == 1
    )


def test_window_dates_of_period_report_follow_the_participants_zone(world):
    from diary.services.periods import period_end_report, period_start_report

    now = timezone.now()
    today = now.date()
    period = period_start_report(
        participant=world.participant_a, started_on=today - timedelta(days=4), actor=None, now=now
    )
    period_end_report(period=period, ended_on=today, actor=None, now=now)
    assessment = world.participant_a.assessments.get(period_number=1)
    assert assessment.period == period
    assert assessment.status == "open"
    assert assessment.closes_at - assessment.opens_at >= timedelta(days=7)
