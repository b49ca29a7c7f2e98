"""The home page in plain words, and the participant's language."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from diary.services.drafts import draft_save
from diary.services.submission import assessment_submit
from tests.diary.journey import open_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_afterwards():
    # LocaleMiddleware leaves the last request's language active in this thread.
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_a_new_participant_is_asked_to_report_her_period(client, world):
    client.force_login(world.participant_a.user)
    text = client.get(reverse("diary:home")).content.decode()
    assert "Tell us when your period starts." in text
    assert "No period reported yet." in text


def test_history_shows_when_a_questionnaire_was_submitted_and_no_scores(client, world):
    participant = world.participant_a
    assessment = open_assessment(participant)
    draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={"ehp30_q01": 4, "ehp30_q02": 4},
        actor=participant.user,
    )
    assessment_submit(
        participant=participant,
        assessment_id=assessment.pk,
        actor=participant.user,
        confirm_unanswered=True,
    )
    client.force_login(participant.user)
    text = client.get(reverse("diary:home")).content.decode()
    assert "After period 1" in text and "submitted" in text
    assert "Fill in the questionnaire" not in text
    assert "Pain" not in text and "score" not in text.lower()


def test_allocation_is_never_shown_to_the_participant(client, world):
    open_assessment(world.participant_a)
    client.force_login(world.participant_a.user)
    for name in ("home", "period_start"):
        page = client.get(reverse(f"diary:{name}")).content.decode()
        # The random CSRF token can hold any two letters (it once held "AP").
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
        for secret in ("Anakinra", "Placebo", "AP", "sequence"):
            assert secret not in text


def test_a_danish_participant_sees_the_interface_in_danish(client, world):
    participant = world.participant_a
    participant.language = "da"
    participant.save(update_fields=["language"])
    client.force_login(participant.user)
    text = client.get(reverse("diary:home")).content.decode()
    assert 'lang="da"' in text
    assert "Fortæl os, når din menstruation begynder." in text
    assert "Min menstruation er begyndt" in text


def test_switching_language_is_kept_on_her_record(client, world):
    participant = world.participant_a
    client.force_login(participant.user)
    response = client.post(reverse("diary:language"), {"language": "da", "next": "/diary/"})
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.language == "da"
    assert "Dine menstruationer" in client.get(reverse("diary:home")).content.decode()


def test_the_login_page_can_be_switched_to_danish_before_logging_in(client, world):
    client.post(reverse("diary:language"), {"language": "da", "next": "/diary/login/"})
    assert "Log ind i din forsøgsdagbog" in client.get(reverse("diary:login")).content.decode()


def test_while_a_period_is_ongoing_she_is_asked_for_its_end_not_a_new_start(client, world):
    from datetime import timedelta

    from django.utils import timezone

    from diary.selectors.periods import local_today
    from diary.services.periods import period_start_report

    participant = world.participant_a
    today = local_today(participant, timezone.now())
    period_start_report(participant=participant, started_on=today - timedelta(days=2), actor=None)
    client.force_login(participant.user)
    text = client.get(reverse("diary:home")).content.decode()
    assert "Tell us when it ends." in text
    assert "Tell us when your period starts." not in text
