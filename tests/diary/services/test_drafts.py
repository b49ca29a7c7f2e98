"""draft_save, and assessment_submit from the draft: answers kept as she goes, refused ones
named, submitted once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from diary.models import (
    Assessment,
    AssessmentStatus,
    AuditAction,
    AuditEvent,
    Response,
    ResponseDraft,
)
from diary.services.drafts import DraftRefused, draft_answers, draft_save
from diary.services.submission import (
    SubmissionRefused,
    UnansweredNotConfirmed,
    assessment_submit,
)
from tests.conftest import make_participant
from tests.diary.journey import open_assessment, window_close

pytestmark = pytest.mark.django_db


@pytest.fixture
def module_study(world):
    world.study.instrument_modules = {"ehp30": ["ehp30_work"]}
    world.study.save(update_fields=["instrument_modules"])
    return world.study


def test_saving_merges_pages_and_keeps_unanswered_as_none(world):
    assessment = open_assessment(world.participant_a)
    user = world.participant_a.user
    draft_save(assessment=assessment, instrument_key="ehp30", answers={"ehp30_q01": 1}, actor=user)
    draft_save(assessment=assessment, instrument_key="ehp30", answers={"ehp30_q12": 0}, actor=user)
    answers = draft_answers(assessment=assessment)
    assert answers["ehp30"]["ehp30_q01"] == 1
    assert answers["ehp30"]["ehp30_q12"] == 0
    assert answers["ehp30"]["ehp30_q30"] is None
    assert answers["vas_dysmenorrhea"] == {"vas_dysmenorrhea": None}


def test_saving_the_same_answers_again_writes_no_second_audit_event(world):
    assessment = open_assessment(world.participant_a)
    for _ in range(3):
        draft_save(
            assessment=assessment,
            instrument_key="ehp30",
            answers={"ehp30_q01": 1},
            actor=world.participant_a.user,
        )
    assert AuditEvent.objects.filter(action=AuditAction.DRAFT_SAVED).count() == 1


@pytest.mark.parametrize("bad", [5, -1, True, 2.0, "2"])
def test_a_bad_code_is_named_and_the_other_answers_are_kept(world, bad):
    assessment = open_assessment(world.participant_a)
    result = draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={"ehp30_q01": bad, "ehp30_q02": 3},
        actor=world.participant_a.user,
    )
    assert len(result.errors) == 1 and result.errors[0].startswith("ehp30_q01:")
    assert result.draft.answers["ehp30"] == {"ehp30_q02": 3}


def test_vas_accepts_0_to_100_and_refuses_more(world):
    assessment = open_assessment(world.participant_a)
    user = world.participant_a.user
    ok = draft_save(
        assessment=assessment,
        instrument_key="vas_dysmenorrhea",
        answers={"vas_dysmenorrhea": 0},
        actor=user,
    )
    assert ok.errors == []
    bad = draft_save(
        assessment=assessment,
        instrument_key="vas_dysmenorrhea",
        answers={"vas_dysmenorrhea": 101},
        actor=user,
    )
    assert bad.errors and bad.draft.answers["vas_dysmenorrhea"]["vas_dysmenorrhea"] == 0


def test_module_items_are_not_kept_when_the_gate_says_it_does_not_apply(world, module_study):
    assessment = open_assessment(world.participant_a)
    result = draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={"ehp30_work_applies": 0, "ehp30_work_q1": 3},
        actor=world.participant_a.user,
    )
    assert result.errors[0].startswith("ehp30_work_q1: not kept")
    assert result.draft.answers["ehp30"]["ehp30_work_q1"] is None


def test_an_uncollected_module_is_refused(world):
    assessment = open_assessment(world.participant_a)
    result = draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={"ehp30_work_q1": 3},
        actor=world.participant_a.user,
    )
    assert result.errors == ["ehp30_work_q1: not a question of this questionnaire"]


def test_drafts_are_refused_outside_the_window_and_the_saved_draft_survives(world):
    assessment = open_assessment(world.participant_a)
    user = world.participant_a.user
    draft_save(assessment=assessment, instrument_key="ehp30", answers={"ehp30_q01": 1}, actor=user)
    window_close(assessment)
    assessment.refresh_from_db()
    with pytest.raises(DraftRefused, match="has closed"):
        draft_save(
            assessment=assessment, instrument_key="ehp30", answers={"ehp30_q01": 2}, actor=user
        )
    with pytest.raises(SubmissionRefused, match="has closed"):
        assessment_submit(
            participant=world.participant_a,
            assessment_id=assessment.pk,
            actor=user,
            confirm_unanswered=True,
        )
    assert ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]["ehp30_q01"] == 1
    assert not Response.objects.exists()


def test_a_questionnaire_whose_period_is_not_reported_takes_no_draft(world):
    later = world.participant_a.assessments.get(period_number=1)
    with pytest.raises(DraftRefused, match="after you report your period"):
        draft_save(assessment=later, instrument_key="ehp30", answers={}, actor=None)


def test_submitting_twice_stores_one_response_per_instrument(world):
    assessment = open_assessment(world.participant_a)
    user = world.participant_a.user
    assessment_submit(
        participant=world.participant_a,
        assessment_id=assessment.pk,
        actor=user,
        confirm_unanswered=True,
    )
    with pytest.raises(SubmissionRefused, match="already been submitted"):
        assessment_submit(
            participant=world.participant_a,
            assessment_id=assessment.pk,
            actor=user,
            confirm_unanswered=True,
        )
    assert Response.objects.filter(assessment=assessment).count() == 2


def test_submitting_stamps_the_draft_and_records_what_was_saved(world):
    assessment = open_assessment(world.participant_a)
    user = world.participant_a.user
    draft_save(assessment=assessment, instrument_key="ehp30", answers={"ehp30_q01": 3}, actor=user)
    responses = assessment_submit(
        participant=world.participant_a,
        assessment_id=assessment.pk,
        actor=user,
        confirm_unanswered=True,
    )
    assert {r.instrument_key: r.answers.get("ehp30_q01") for r in responses} == {
        "ehp30": 3,
        "vas_dysmenorrhea": None,
    }
    assert ResponseDraft.objects.get(assessment=assessment).submitted_at is not None
    event = AuditEvent.objects.get(action=AuditAction.SUBMITTED)
    assert event.details["responses"] == [r.pk for r in responses]


def test_another_participants_questionnaire_cannot_be_submitted(world):
    theirs = open_assessment(make_participant(world.study, world.site1, "S01-078"))
    with pytest.raises(Assessment.DoesNotExist):
        assessment_submit(
            participant=world.participant_a,
            assessment_id=theirs.pk,
            actor=world.participant_a.user,
            confirm_unanswered=True,
        )
    assert not Response.objects.exists()


def test_a_study_without_questionnaires_refuses_submission_and_stores_nothing(world):
    assessment = open_assessment(world.participant_a)
    world.study.instruments = []
    world.study.save(update_fields=["instruments"])
    with pytest.raises(ValidationError, match="collects no questionnaires"):
        assessment_submit(
            participant=world.participant_a,
            assessment_id=assessment.pk,
            actor=world.participant_a.user,
            confirm_unanswered=True,
        )
    assessment.refresh_from_db()
    assert assessment.status != AssessmentStatus.SUBMITTED
    assert not Response.objects.exists()


def test_unanswered_questions_need_her_confirmation(world):
    assessment = open_assessment(world.participant_a)
    draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={"ehp30_q01": 1},
        actor=world.participant_a.user,
    )
    with pytest.raises(UnansweredNotConfirmed, match="Please confirm"):
        assessment_submit(
            participant=world.participant_a,
            assessment_id=assessment.pk,
            actor=world.participant_a.user,
        )
    assert not Response.objects.exists()


def test_participants_drafts_are_separate(world):
    other = make_participant(world.study, world.site1, "S01-077")
    mine = open_assessment(world.participant_a)
    theirs = open_assessment(other)
    draft_save(
        assessment=mine,
        instrument_key="ehp30",
        answers={"ehp30_q01": 4},
        actor=world.participant_a.user,
    )
    assert draft_answers(assessment=theirs)["ehp30"]["ehp30_q01"] is None


@pytest.mark.django_db(transaction=True)
def test_two_tabs_submitting_at_the_same_moment_store_one_response(world):
    import threading

    from django.db import connection

    assessment = open_assessment(world.participant_a)
    user = world.participant_a.user
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        start.wait()
        try:
            assessment_submit(
                participant=world.participant_a,
                assessment_id=assessment.pk,
                actor=user,
                confirm_unanswered=True,
            )
            outcomes.append("stored")
        except SubmissionRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    tabs = [threading.Thread(target=submit) for _ in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    assert sorted(outcomes) == ["refused", "stored"]
    assert Response.objects.filter(assessment=assessment).count() == 2  # one per instrument
    assert AuditEvent.objects.filter(action=AuditAction.SUBMITTED).count() == 1
