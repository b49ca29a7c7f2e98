"""Her answers as she gave them, "this answer is wrong" with a reason, and the outcome on her
history; someone else's answer, an empty reason: refused, nothing stored."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from diary.models import AuditAction, AuditEvent, DataChangeRequest
from diary.services.change_requests import change_request_accept, change_request_decline
from scoring.definitions import instrument_get
from tests.scoring.submitting import ehp30_answers, submit

pytestmark = pytest.mark.django_db
REASON = "I tapped Always but meant Never"


@pytest.fixture(autouse=True)
def _english_afterwards():
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def answers(world):
    return submit(world.participant_a, ehp30=ehp30_answers(pain=[4] + [2] * 10), vas=70)


def wrong_url(response, item="ehp30_q01") -> str:
    return reverse("diary:change_request", args=[response.pk, item])


def test_home_links_to_her_answers_in_the_wording_she_saw(client, world, answers):
    client.force_login(world.participant_a.user)
    assessment = answers["ehp30"].assessment
    home = client.get(reverse("diary:home")).content.decode()
    assert reverse("diary:history", args=[assessment.pk]) in home
    page = client.get(reverse("diary:history", args=[assessment.pk])).content.decode()
    first = instrument_get("ehp30").item("ehp30_q01")
    assert first.label in page and "4 Always" in page and "70 mm" in page
    assert wrong_url(answers["ehp30"]) in page
    assert "Score" not in page and "score" not in page  # answers, never scores


def test_she_asks_and_sees_the_request_waiting(client, world, answers):
    client.force_login(world.participant_a.user)
    form = client.get(wrong_url(answers["ehp30"])).content.decode()
    assert '<label class="form-label" for="id_reason">' in form
    response = client.post(wrong_url(answers["ehp30"]), {"reason": REASON})
    assert response.status_code == 302
    request = DataChangeRequest.objects.get()
    assert (request.item_key, request.value_seen, request.site) == ("ehp30_q01", 4, world.site1)
    page = client.get(response["Location"]).content.decode()
    assert "Waiting for your study team." in page and REASON in page
    assert wrong_url(answers["ehp30"]) not in page  # already asked about this one


def test_she_sees_an_accepted_and_a_declined_outcome(client, world, answers):
    participant = world.participant_a
    client.force_login(participant.user)
    client.post(wrong_url(answers["ehp30"]), {"reason": REASON})
    client.post(wrong_url(answers["vas_dysmenorrhea"], "vas_dysmenorrhea"), {"reason": REASON})
    first, second = DataChangeRequest.objects.order_by("pk")
    change_request_accept(
        request=first, new_value=0, reason="Corrected as you asked", actor=world.coordinator1
    )
    change_request_decline(
        request=second, reason="Your paper notes say 70 too", actor=world.investigator1
    )
    page = client.get(reverse("diary:history", args=[answers["ehp30"].assessment_id]))
    text = page.content.decode()
    assert "Corrected by your study team." in text and "0 Never" in text
    assert "Not changed. Your study team says:" in text and "Your paper notes say 70 too" in text


def test_an_empty_reason_is_refused_and_announced(client, world, answers):
    client.force_login(world.participant_a.user)
    response = client.post(wrong_url(answers["ehp30"]), {"reason": "   "})
    assert response.status_code == 400
    text = response.content.decode()
    assert 'role="alert"' in text and "Please write a short reason." in text
    assert 'aria-invalid="true"' in text and "reason-error" in text
    assert not DataChangeRequest.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.CHANGE_REQUESTED).exists()


def test_someone_elses_answer_is_no_page_and_takes_no_request(client, world, answers):
    client.force_login(world.participant_b.user)
    assert client.get(wrong_url(answers["ehp30"])).status_code == 404
    assert client.post(wrong_url(answers["ehp30"]), {"reason": REASON}).status_code == 404
    history = reverse("diary:history", args=[answers["ehp30"].assessment_id])
    assert client.get(history).status_code == 404
    assert not DataChangeRequest.objects.exists()


def test_an_item_the_questionnaire_does_not_hold_is_no_page(client, world, answers):
    client.force_login(world.participant_a.user)
    assert client.get(wrong_url(answers["vas_dysmenorrhea"], "ehp30_q01")).status_code == 404
    assert not DataChangeRequest.objects.exists()
