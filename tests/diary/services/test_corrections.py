"""Corrections and transcribed paper forms: new rows with reason; the old stays as it was."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from diary.models import AssessmentStatus, AuditAction, AuditEvent, Response, ResponseSource
from diary.services.corrections import assessment_transcribe, response_correct
from scoring.models import Score
from scoring.services import scoring_sweep
from tests.scoring.submitting import assessment_open, ehp30_answers, submit

pytestmark = pytest.mark.django_db
REASON = "Participant phoned: she tapped 'Always' by mistake on item 1"


@pytest.fixture
def submitted_vas(world):
    return submit(world.participant_a, vas=40)["vas_dysmenorrhea"]


def test_correction_supersedes_and_keeps_the_original(world, submitted_vas):
    corrected = response_correct(
        response=submitted_vas,
        answers={"vas_dysmenorrhea": 45},
        reason=REASON,
        actor=world.coordinator1,
    )
    original = Response.objects.get(pk=submitted_vas.pk)
    assert original.answers == {"vas_dysmenorrhea": 40}
    assert corrected.supersedes == original and corrected.answers == {"vas_dysmenorrhea": 45}
    assert (corrected.source, corrected.reason, corrected.submitted_by) == (
        ResponseSource.SITE_CORRECTION,
        REASON,
        world.coordinator1,
    )
    event = AuditEvent.objects.get(action=AuditAction.CORRECTED)
    assert event.reason == REASON
    assert event.details["changes"] == {"vas_dysmenorrhea": [40, 45]}


def test_scores_are_recomputed_for_the_correction(world):
    ehp30 = submit(world.participant_a, ehp30=ehp30_answers(pain=[0] * 11))["ehp30"]
    scoring_sweep()
    corrected = response_correct(
        response=ehp30,
        answers=ehp30_answers(pain=[4] * 11),
        reason=REASON,
        actor=world.coordinator1,
    )
    scoring_sweep()
    assert Score.objects.get(response=ehp30, scale="pain").value == 0
    assert Score.objects.get(response=corrected, scale="pain").value == 100


def test_a_reason_is_required(world, submitted_vas):
    with pytest.raises(ValidationError, match="reason of at least 10 characters"):
        response_correct(
            response=submitted_vas,
            answers={"vas_dysmenorrhea": 45},
            reason="typo",
            actor=world.coordinator1,
        )
    assert Response.objects.count() == 2


def test_invalid_codes_are_refused_not_clamped(world, submitted_vas):
    with pytest.raises(ValidationError, match="vas_dysmenorrhea"):
        response_correct(
            response=submitted_vas,
            answers={"vas_dysmenorrhea": 101},
            reason=REASON,
            actor=world.coordinator1,
        )


def test_only_the_latest_version_can_be_corrected(world, submitted_vas):
    response_correct(
        response=submitted_vas,
        answers={"vas_dysmenorrhea": 45},
        reason=REASON,
        actor=world.coordinator1,
    )
    with pytest.raises(ValidationError, match="already been corrected"):
        response_correct(
            response=submitted_vas,
            answers={"vas_dysmenorrhea": 50},
            reason=REASON,
            actor=world.coordinator1,
        )


@pytest.mark.parametrize("who", ["coordinator2", "monitor", "statistician", "admin", "outsider"])
def test_only_a_coordinator_of_her_site_may_correct(world, submitted_vas, who):
    with pytest.raises(PermissionDenied):
        response_correct(
            response=submitted_vas,
            answers={"vas_dysmenorrhea": 45},
            reason=REASON,
            actor=getattr(world, who),
        )
    assert not Response.objects.filter(supersedes=submitted_vas).exists()


def test_a_coordinator_whose_group_lacks_the_correction_permission_may_not_correct(
    world, submitted_vas
):
    Group.objects.get(name="Coordinator").permissions.remove(
        Permission.objects.get(content_type__app_label="diary", codename="correct_response")
    )
    coordinator = type(world.coordinator1).objects.get(pk=world.coordinator1.pk)
    with pytest.raises(PermissionDenied):
        response_correct(
            response=submitted_vas,
            answers={"vas_dysmenorrhea": 45},
            reason=REASON,
            actor=coordinator,
        )
    with pytest.raises(PermissionDenied):
        assessment_transcribe(
            assessment=assessment_open(world.participant_a, 2),
            answers={"vas_dysmenorrhea": {"vas_dysmenorrhea": 30}},
            completed_on=timezone.now().date(),
            reason=REASON,
            actor=coordinator,
        )
    assert Response.objects.count() == 2  # her two submitted answers, nothing added


def test_paper_form_completed_in_the_window_is_transcribed(world):
    assessment = assessment_open(world.participant_a)
    responses = assessment_transcribe(
        assessment=assessment,
        answers={"ehp30": ehp30_answers(), "vas_dysmenorrhea": {"vas_dysmenorrhea": 30}},
        completed_on=timezone.now().date(),
        reason="Diary unavailable at home; paper form collected at the visit",
        actor=world.coordinator1,
    )
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED
    assert {r.source for r in responses} == {ResponseSource.SITE_TRANSCRIPTION}


def test_paper_cannot_back_fill_outside_the_window(world):
    assessment = assessment_open(world.participant_a)
    with pytest.raises(ValidationError, match="completed in the window"):
        assessment_transcribe(
            assessment=assessment,
            answers={"vas_dysmenorrhea": {"vas_dysmenorrhea": 30}},
            completed_on=timezone.now().date() - timedelta(days=20),
            reason="Found an old paper form in the drawer",
            actor=world.coordinator1,
        )
    assert not assessment.responses.exists()


def test_transcription_refuses_an_assessment_that_has_answers(world, submitted_vas):
    with pytest.raises(ValidationError, match="correct them instead"):
        assessment_transcribe(
            assessment=submitted_vas.assessment,
            answers={"vas_dysmenorrhea": {"vas_dysmenorrhea": 30}},
            completed_on=timezone.now().date(),
            reason="Paper form received by post",
            actor=world.coordinator1,
        )
