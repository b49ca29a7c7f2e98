"""Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, and with too many fields, on every participant POST
endpoint: a 400 page that says what happened, and nothing stored."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from diary.models import AuditAction, ResponseDraft
from diary.selectors.periods import local_today
from diary.services.invitations import invitation_send
from diary.services.participants import participant_enrol
from diary.services.periods import period_start_report
from tests.bad_input import snapshot, text_of
from tests.diary.journey import open_assessment

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("diary:login", False, "username"),
    ("diary:logout", True, "next"),
    ("diary:password_forgotten", False, "identifier"),
    ("diary:invitation_password", False, "new_password1"),
    ("diary:language", True, "language"),
    ("diary:period_start", True, "started_on"),
    ("diary:period_end", True, "ended_on"),
    ("diary:period_correct", True, "started_on"),
    ("diary:questionnaire_page", True, "ehp30_q01"),
    ("diary:questionnaire_review", True, "confirm_unanswered"),
]


@pytest.fixture
def urls(world):
    """Each endpoint's URL for participant A, with a period 1 and its open questionnaire."""
    participant = world.participant_a
    assessment = open_assessment(participant)
    period = period_start_report(
        participant=participant,
        started_on=local_today(participant, timezone.now()),
        actor=participant.user,
    )
    return {
        "diary:period_end": reverse("diary:period_end", args=[period.pk]),
        "diary:period_correct": reverse("diary:period_correct", args=[period.pk]),
        "diary:questionnaire_page": reverse("diary:questionnaire_page", args=[assessment.pk, 1]),
        "diary:questionnaire_review": reverse("diary:questionnaire_review", args=[assessment.pk]),
    }


def prepare(client, world, name: str, logged_in: bool) -> None:
    if logged_in:
        client.force_login(world.participant_a.user)
    if name == "diary:invitation_password":  # the step after pressing the link's button
        invited = participant_enrol(
            study=world.study,
            site=world.site1,
            subject_id="S01-078",
            email="s01-078@example.org",
            actor=None,
        )
        client.post(invitation_send(participant=invited, actor=None))


def compared(state: dict, name: str) -> dict:
    # Logging out happens before LogoutView reads the body: the session ends either way, which
    # is harmless, so that one event is left out of the comparison.
    if name == "diary:logout":
        state["events"].pop(AuditAction.LOGOUT, None)
    return state


@pytest.mark.parametrize(("name", "logged_in", "field"), ENDPOINTS)
def test_a_body_over_the_upload_limit_is_a_clear_400_and_stores_nothing(
    client, world, urls, name, logged_in, field
):
    prepare(client, world, name, logged_in)
    before = snapshot()
    body = f"{field}=" + "9" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(
        urls.get(name) or reverse(name), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    text = text_of(response)
    assert "Your request could not be read" in text
    assert "too large or incomplete, so nothing was saved" in text
    assert compared(snapshot(), name) == before


@pytest.mark.parametrize(("name", "logged_in", "field"), ENDPOINTS)
def test_too_many_fields_is_a_400_and_stores_nothing(client, world, urls, name, logged_in, field):
    prepare(client, world, name, logged_in)
    before = snapshot()
    fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
    body = "&".join(f"f{n}=1" for n in range(fields)) + f"&{field}=1"
    response = client.post(
        urls.get(name) or reverse(name), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "Your request could not be read" in text_of(response)
    assert compared(snapshot(), name) == before


def test_the_limit_itself_still_lets_a_normal_page_through(client, world, urls):
    """The limit refuses only oversized bodies: a page of answers is far below it."""
    client.force_login(world.participant_a.user)
    response = client.post(urls["diary:questionnaire_page"], {"ehp30_q01": "2", "nav": "next"})
    assert response.status_code == 302
    assert ResponseDraft.objects.get().answers["ehp30"]["ehp30_q01"] == 2
