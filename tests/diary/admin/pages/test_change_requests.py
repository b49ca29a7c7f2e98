"""The site's change-request pages: the list shows her request (and how late an accepted change
was), the decision page accepts through a correction or declines; refusals store nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diary.models import Assessment, AuditAction, AuditEvent, DataChangeRequest, Response
from diary.services.change_requests import change_request_make
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db
DECISION = "She confirmed on the phone that 30 was meant"


@pytest.fixture
def change(world) -> DataChangeRequest:
    vas = submit(world.participant_a, vas=70)["vas_dysmenorrhea"]
    return change_request_make(
        participant=world.participant_a,
        response=vas,
        item_key="vas_dysmenorrhea",
        reason="I tapped the wrong end of the line",
    )


def decide_url(change) -> str:
    return reverse("admin:change_request_decide", args=[change.pk])


@pytest.mark.parametrize("who", ["coordinator1", "investigator1"])
def test_the_site_accepts_her_request_with_the_corrected_value(client, world, change, who):
    client.force_login(getattr(world, who))
    page = client.get(decide_url(change)).content.decode()
    assert "I tapped the wrong end of the line" in page and "70" in page
    response = client.post(
        decide_url(change), {"decision": "accept", "new_value": "30", "reason": DECISION}
    )
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == "accepted" and change.correction.answers == {"vas_dysmenorrhea": 30}
    listing = client.get(reverse("admin:change_requests")).content.decode()
    assert "Accepted: the answer was corrected" in listing


def test_a_late_acceptance_is_flagged_on_the_list(client, world, change):
    # The window closed four days ago: an acceptance now is a late change.
    Assessment.objects.filter(pk=change.response.assessment_id).update(
        opens_at=timezone.now() - timedelta(days=10), closes_at=timezone.now() - timedelta(days=4)
    )
    client.force_login(world.coordinator1)
    client.post(decide_url(change), {"decision": "accept", "new_value": "30", "reason": DECISION})
    listing = client.get(reverse("admin:change_requests")).content.decode()
    assert "Late: 4 days after the window closed" in listing


def test_the_site_declines_with_a_reason(client, world, change):
    client.force_login(world.investigator1)
    response = client.post(decide_url(change), {"decision": "decline", "reason": DECISION})
    assert response.status_code == 302
    change.refresh_from_db()
    assert (change.status, change.decision_reason) == ("declined", DECISION)


def test_a_decision_on_a_decided_request_is_refused_and_nothing_stored(client, world, change):
    client.force_login(world.coordinator1)
    client.post(decide_url(change), {"decision": "decline", "reason": DECISION})
    before = (Response.objects.count(), AuditEvent.objects.count())
    response = client.post(
        decide_url(change), {"decision": "accept", "new_value": "30", "reason": DECISION}
    )
    assert response.status_code == 400
    assert "has already been decided" in response.content.decode()
    assert (Response.objects.count(), AuditEvent.objects.count()) == before


def test_an_empty_reason_is_refused(client, world, change):
    client.force_login(world.coordinator1)
    response = client.post(decide_url(change), {"decision": "decline", "reason": ""})
    assert response.status_code == 400
    assert DataChangeRequest.objects.get(pk=change.pk).status == "pending"
    assert not AuditEvent.objects.filter(action=AuditAction.CHANGE_DECLINED).exists()


@pytest.mark.parametrize("who", ["monitor", "statistician", "admin", "coordinator2", "outsider"])
def test_the_sponsor_side_and_another_site_cannot_decide(client, world, change, who):
    client.force_login(getattr(world, who))
    assert client.get(decide_url(change)).status_code == 404
    response = client.post(
        decide_url(change), {"decision": "accept", "new_value": "30", "reason": DECISION}
    )
    assert response.status_code == 404
    assert DataChangeRequest.objects.get(pk=change.pk).status == "pending"
    assert not Response.objects.filter(supersedes=change.response).exists()


def test_the_sponsor_side_reads_the_request_without_a_decide_link(client, world, change):
    client.force_login(world.monitor)
    listing = client.get(reverse("admin:change_requests")).content.decode()
    assert "I tapped the wrong end of the line" in listing
    assert decide_url(change) not in listing
    client.force_login(world.coordinator2)  # another site: not even listed
    assert "S01-001" not in client.get(reverse("admin:change_requests")).content.decode()
