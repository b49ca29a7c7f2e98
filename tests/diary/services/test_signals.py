"""Reviews, queries and thresholds: each audited; refused ones (another site, a changed
signal, a value out of range) say why and store nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, ProgrammingError, transaction

from diary.models import (
    AuditAction,
    AuditEvent,
    DataQuery,
    QueryStatus,
    SignalReview,
    StaffMembership,
    StaffRole,
    StudySignalSettings,
)
from diary.services.signals import (
    SignalActionRefused,
    SignalChanged,
    query_answer,
    query_close,
    query_raise,
    signal_review,
    signal_settings_update,
)
from diary.services.staff import staff_groups_sync
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def night_entry(participant, n: int) -> None:
    AuditEvent.objects.create(
        occurred_at=datetime(2026, 1, 10, 1, n, tzinfo=UTC),
        actor=participant.user,
        action=AuditAction.SUBMITTED,
        participant=participant,
        study=participant.study,
        object_id=str(n),
        unblinded=False,
    )


def test_a_review_is_stored_with_the_value_seen_and_audited(world):
    a = world.participant_a
    review = signal_review(
        participant=a, signal="clock", value_seen="0", comment="Fine", actor=world.monitor
    )
    assert (review.value_seen, review.reviewed_by) == ("0", world.monitor)
    event = AuditEvent.objects.get(action=AuditAction.SIGNAL_REVIEWED)
    assert event.actor == world.monitor and event.participant == a
    assert event.details == {"signal": "clock", "value": "0"} and event.reason == "Fine"


def test_a_signal_that_changed_meanwhile_is_not_signed(world):
    a = world.participant_a
    night_entry(a, 1)  # she entered something at night after the page was opened
    with pytest.raises(SignalChanged, match="it was 0, it is now 1"):
        signal_review(
            participant=a, signal="unusual_hours", value_seen="0", comment="ok", actor=world.monitor
        )
    assert not SignalReview.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SIGNAL_REVIEWED).exists()


def test_a_trail_review_is_refused_after_new_events(world):
    a = world.participant_a
    with pytest.raises(SignalChanged):
        signal_review(
            participant=a, signal="trail", value_seen="0 events, last #0", comment="read",
            actor=world.monitor,
        )  # fmt: skip
    assert not SignalReview.objects.exists()


@pytest.mark.parametrize("who", ["coordinator1", "statistician", "outsider"])
def test_only_the_monitor_reviews(world, who):
    with pytest.raises(SignalActionRefused, match="may not review"):
        signal_review(
            participant=world.participant_a,
            signal="clock",
            value_seen="0",
            comment="x",
            actor=getattr(world, who),
        )
    assert not SignalReview.objects.exists()


def test_an_empty_comment_or_unknown_signal_is_refused(world):
    with pytest.raises(SignalActionRefused, match="cannot be empty"):
        signal_review(
            participant=world.participant_a, signal="clock", value_seen="0", comment="  ",
            actor=world.monitor,
        )  # fmt: skip
    with pytest.raises(SignalActionRefused, match="not a data-quality signal"):
        signal_review(
            participant=world.participant_a, signal="allocation", value_seen="0", comment="x",
            actor=world.monitor,
        )  # fmt: skip
    assert not SignalReview.objects.exists()


def test_reviews_are_append_only_in_the_database(world):
    review = signal_review(
        participant=world.participant_a, signal="clock", value_seen="0", comment="Fine",
        actor=world.monitor,
    )  # fmt: skip
    with pytest.raises(ProgrammingError), transaction.atomic():
        SignalReview.objects.filter(pk=review.pk).update(comment="edited")


def test_a_query_is_raised_answered_and_closed_each_step_audited(world):
    a = world.participant_a
    query = query_raise(participant=a, signal="clock", text="Phone clock?", actor=world.monitor)
    assert query.status == QueryStatus.OPEN and query.site == world.site1
    query = query_answer(query=query, answer="Her phone was set wrong", actor=world.coordinator1)
    assert query.status == QueryStatus.ANSWERED and query.answered_by == world.coordinator1
    query = query_close(query=query, comment="Accepted", actor=world.monitor)
    assert query.status == QueryStatus.CLOSED
    actions = list(
        AuditEvent.objects.filter(object_type="diary.DataQuery")
        .order_by("pk")
        .values_list("action", "actor__username")
    )
    assert actions == [
        ("query_raised", "monitor"),
        ("query_answered", "coordinator1"),
        ("query_closed", "monitor"),
    ]


def test_a_query_on_a_participant_of_another_site_is_refused(world):
    site_monitor = make_staff("site2monitor")
    StaffMembership.objects.create(
        user=site_monitor, study=world.study, site=world.site2, role=StaffRole.MONITOR
    )
    staff_groups_sync(user=site_monitor)
    with pytest.raises(SignalActionRefused, match="S01-001 is not a participant of your sites"):
        query_raise(participant=world.participant_a, signal="clock", text="?", actor=site_monitor)
    assert not DataQuery.objects.exists()


def test_the_other_site_cannot_answer_and_a_closed_query_takes_nothing(world):
    query = query_raise(
        participant=world.participant_a, signal="trail", text="?", actor=world.monitor
    )
    with pytest.raises(SignalActionRefused, match="may not answer"):
        query_answer(query=query, answer="no", actor=world.coordinator2)
    with pytest.raises(SignalActionRefused, match="may not answer"):
        query_answer(query=query, answer="no", actor=world.monitor)
    query_close(query=query, comment="Withdrawn", actor=world.monitor)
    with pytest.raises(SignalActionRefused, match="is closed: it takes no answer"):
        query_answer(query=query, answer="late", actor=world.coordinator1)
    with pytest.raises(SignalActionRefused, match="already closed"):
        query_close(query=query, comment="again", actor=world.monitor)
    query.refresh_from_db()
    assert query.answer == "" and query.close_comment == "Withdrawn"


def test_queries_are_never_deleted(world):
    query = query_raise(
        participant=world.participant_a, signal="trail", text="?", actor=world.monitor
    )
    with pytest.raises((ProgrammingError, IntegrityError)), transaction.atomic():
        DataQuery.objects.filter(pk=query.pk).delete()


def test_thresholds_are_set_by_the_study_admin_and_audited(world):
    settings = signal_settings_update(
        study=world.study, values={"clock_minutes": 30}, actor=world.admin
    )
    assert settings.clock_minutes == 30
    event = AuditEvent.objects.get(action=AuditAction.SIGNAL_SETTINGS_CHANGED)
    assert event.details == {"changes": {"clock_minutes": [15, 30]}}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"clock_minutes": 0}, "greater than or equal to 1"),
        ({"night_start_hour": 24}, "less than or equal to 23"),
        ({"missed_in_row": 1000}, "less than or equal to 100"),
        ({"night_start_hour": 3, "night_end_hour": 3}, "end at another hour"),
    ],
)
def test_thresholds_out_of_range_are_refused_and_nothing_stored(world, values, message):
    with pytest.raises(ValidationError, match=message):
        signal_settings_update(study=world.study, values=values, actor=world.admin)
    assert not StudySignalSettings.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SIGNAL_SETTINGS_CHANGED).exists()


@pytest.mark.parametrize("who", ["monitor", "coordinator1", "statistician"])
def test_others_cannot_set_thresholds(world, who):
    with pytest.raises(SignalActionRefused):
        signal_settings_update(
            study=world.study, values={"clock_minutes": 30}, actor=getattr(world, who)
        )
    assert not StudySignalSettings.objects.exists()


def test_the_database_refuses_a_threshold_out_of_range(world):
    with pytest.raises(IntegrityError, match="signal_settings_in_range"), transaction.atomic():
        StudySignalSettings.objects.create(study=world.study, clock_minutes=0)
