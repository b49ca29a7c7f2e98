"""A participant's change requests: asked from her history, decided at her site (accepted
through a correction, or declined with a reason), audited; refusals store nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from diary.models import (
    Assessment,
    AuditAction,
    AuditEvent,
    DataChangeRequest,
    Response,
    ResponseSource,
)
from diary.services.change_requests import (
    ChangeRequestRefused,
    change_request_accept,
    change_request_decline,
    change_request_make,
)
from diary.services.corrections import response_correct
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db
REASON = "I tapped the wrong end of the line"
SITE_REASON = "She confirmed on the phone that 30 was meant"


@pytest.fixture
def vas(world) -> Response:
    return submit(world.participant_a, vas=70)["vas_dysmenorrhea"]


def ask(world, vas, reason=REASON) -> DataChangeRequest:
    return change_request_make(
        participant=world.participant_a, response=vas, item_key="vas_dysmenorrhea", reason=reason
    )


def stored() -> tuple[int, int, int]:
    return (
        DataChangeRequest.objects.count(),
        Response.objects.count(),
        AuditEvent.objects.exclude(action="login").count(),
    )


def test_her_request_goes_to_her_site_and_is_audited(world, vas):
    request = ask(world, vas)
    assert (request.site, request.status, request.value_seen) == (world.site1, "pending", 70)
    event = AuditEvent.objects.get(action=AuditAction.CHANGE_REQUESTED)
    assert (event.actor, event.participant, event.reason) == (
        world.participant_a.user,
        world.participant_a,
        REASON,
    )
    assert event.unblinded is False


@pytest.mark.parametrize("decider", ["coordinator1", "investigator1"])
def test_the_site_accepts_by_a_correction_that_supersedes(world, vas, decider):
    actor = getattr(world, decider)
    request = change_request_accept(
        request=ask(world, vas), new_value=30, reason=SITE_REASON, actor=actor
    )
    corrected = request.correction
    assert (request.status, request.decided_by, request.decision_reason) == (
        "accepted",
        actor,
        SITE_REASON,
    )
    assert corrected.supersedes_id == vas.pk and corrected.answers == {"vas_dysmenorrhea": 30}
    assert corrected.source == ResponseSource.SITE_CORRECTION and REASON in corrected.reason
    assert Response.objects.get(pk=vas.pk).answers == {"vas_dysmenorrhea": 70}  # kept as it was
    correction_event = AuditEvent.objects.get(action=AuditAction.CORRECTED)
    assert correction_event.details["changes"] == {"vas_dysmenorrhea": [70, 30]}
    accepted = AuditEvent.objects.get(action=AuditAction.CHANGE_ACCEPTED)
    assert (accepted.details["old"], accepted.details["new"]) == (70, 30)
    assert accepted.details["late_by_seconds"] == 0  # inside the window


def test_a_change_after_the_window_says_how_late_it_is(world, vas):
    request = ask(world, vas)
    closes_at = Assessment.objects.get(pk=vas.assessment_id).closes_at
    later = closes_at + timedelta(days=3, hours=4)
    change_request_accept(
        request=request, new_value=30, reason=SITE_REASON, actor=world.coordinator1, now=later
    )
    event = AuditEvent.objects.get(action=AuditAction.CHANGE_ACCEPTED)
    assert event.details["late_by_seconds"] == (3 * 24 + 4) * 3600


def test_the_site_declines_with_a_reason(world, vas):
    request = change_request_decline(
        request=ask(world, vas),
        reason="The diary entry matches her paper notes",
        actor=world.investigator1,
    )
    assert request.status == "declined" and request.correction is None
    assert not Response.objects.filter(supersedes=vas).exists()
    assert AuditEvent.objects.filter(action=AuditAction.CHANGE_DECLINED).count() == 1


def test_a_request_on_someone_elses_answer_is_refused(world, vas):
    before = stored()
    with pytest.raises(PermissionDenied):
        change_request_make(
            participant=world.participant_b,
            response=vas,
            item_key="vas_dysmenorrhea",
            reason=REASON,
        )
    assert stored() == before


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_empty_reason_is_refused(world, vas, reason):
    before = stored()
    with pytest.raises(ChangeRequestRefused, match="cannot be empty"):
        ask(world, vas, reason)
    assert stored() == before


def test_an_unknown_item_and_a_second_pending_request_are_refused(world, vas):
    with pytest.raises(ChangeRequestRefused, match="not in this questionnaire"):
        change_request_make(
            participant=world.participant_a, response=vas, item_key="ehp30_q01", reason=REASON
        )
    ask(world, vas)
    before = stored()
    with pytest.raises(ChangeRequestRefused, match="already asked"):
        ask(world, vas)
    assert stored() == before


def test_a_decision_on_a_decided_request_is_refused(world, vas):
    request = change_request_decline(
        request=ask(world, vas), reason=SITE_REASON, actor=world.coordinator1
    )
    before = stored()
    with pytest.raises(ChangeRequestRefused, match="already been decided"):
        change_request_accept(
            request=request, new_value=30, reason=SITE_REASON, actor=world.investigator1
        )
    with pytest.raises(ChangeRequestRefused, match="already been decided"):
        change_request_decline(request=request, reason=SITE_REASON, actor=world.coordinator1)
    assert stored() == before
    assert DataChangeRequest.objects.get(pk=request.pk).status == "declined"


@pytest.mark.parametrize("who", ["monitor", "statistician", "admin", "coordinator2"])
def test_the_sponsor_side_and_another_site_never_edit_answers(world, vas, who):
    request = ask(world, vas)
    before = stored()
    for decide in (
        lambda: change_request_accept(
            request=request, new_value=30, reason=SITE_REASON, actor=getattr(world, who)
        ),
        lambda: change_request_decline(
            request=request, reason=SITE_REASON, actor=getattr(world, who)
        ),
    ):
        with pytest.raises(PermissionDenied):
            decide()
    assert stored() == before
    assert DataChangeRequest.objects.get(pk=request.pk).status == "pending"


def test_an_invalid_corrected_value_stores_nothing(world, vas):
    request = ask(world, vas)
    before = stored()
    with pytest.raises(ValidationError):
        change_request_accept(
            request=request, new_value=101, reason=SITE_REASON, actor=world.coordinator1
        )
    assert stored() == before
    assert DataChangeRequest.objects.get(pk=request.pk).status == "pending"


def test_a_request_is_never_deleted(world, vas):
    request = ask(world, vas)
    with pytest.raises(DatabaseError), transaction.atomic():
        DataChangeRequest.objects.filter(pk=request.pk).delete()
    assert DataChangeRequest.objects.filter(pk=request.pk).exists()


def test_accepting_after_a_direct_correction_corrects_the_standing_answers(world, vas):
    request = ask(world, vas)
    standing = response_correct(
        response=vas, answers={"vas_dysmenorrhea": 65}, reason=SITE_REASON, actor=world.coordinator1
    )
    accepted = change_request_accept(
        request=request,
        new_value=30,
        reason=SITE_REASON,
        actor=world.coordinator1,
        now=timezone.now(),
    )
    assert accepted.correction.supersedes_id == standing.pk
