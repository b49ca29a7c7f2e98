"""Logging in answers with the page she came to do, in one response (diary/views/login.py)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import translation

from diary.models import AuditAction, AuditEvent, Participant
from diary.services.drafts import draft_save
from diary.services.submission import assessment_submit
from tests.conftest import PASSWORD
from tests.diary.journey import ehp30_pages, open_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_afterwards():
    yield
    translation.activate(settings.LANGUAGE_CODE)


def log_in(client, identifier: str = "S01-001", *, next_url: str | None = None):
    url = reverse("diary:login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": identifier, "password": PASSWORD})


def landed_on(response) -> str:
    """The page a login answered with: a 200 page that says where it came from, and whose
    script puts that address in the address bar (offline.js, data-landed)."""
    assert response.status_code == 200, response
    location = response["Content-Location"]
    assert f'data-landed="{location}"' in response.content.decode()
    return location


def test_without_an_open_questionnaire_she_lands_on_her_home_page(client, world):
    response = log_in(client)
    assert landed_on(response) == reverse("diary:home")
    text = response.content.decode()
    assert "What to do now" in text and "Your diary (S01-001)" in text
    assert client.session[SESSION_KEY] == str(world.participant_a.user.pk)
    # The answer to a POST is not a page the worker keeps as it is: it fetches the page itself.
    assert "X-Offline-Cache" not in response
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN).count() == 1


def test_with_an_open_questionnaire_she_lands_on_it_with_the_way_home(client, world):
    assessment = open_assessment(world.participant_a)
    response = log_in(client)
    assert landed_on(response) == reverse("diary:questionnaire", args=[assessment.pk])
    text = response.content.decode()
    assert "Questionnaire after period 1" in text and ">Start<" in text
    assert f'href="{reverse("diary:home")}">Back to your diary' in text
    # What she would have seen on her home page anyway, a tap further.
    assert "Fill in the questionnaire" in client.get(reverse("diary:home")).content.decode()


def test_a_questionnaire_she_has_begun_resumes_where_continue_would(client, world):
    assessment = open_assessment(world.participant_a)
    pages = ehp30_pages(world.study)
    for page in pages[:2]:
        draft_save(
            assessment=assessment,
            instrument_key="ehp30",
            answers=dict.fromkeys(page.item_keys, 1),
            actor=world.participant_a.user,
        )
    response = log_in(client)
    page_url = reverse("diary:questionnaire_page", args=[assessment.pk, 3])
    assert landed_on(response) == page_url
    assert "Page 3 of 6" in response.content.decode()
    # Her answers go to the page, not to the login's address the browser shows until the
    # page's script has replaced it (a late or failed script would have logged her in again).
    forms = re.findall(r'<form method="post"( action="[^"]*")?', response.content.decode())
    assert f' action="{page_url}"' in forms and "" not in forms


def test_every_landing_page_posts_to_itself(client, world):
    open_assessment(world.participant_a)
    for name in ("diary:reminder_preferences", "diary:period_start"):
        client.logout()
        target = reverse(name)
        response = log_in(client, next_url=target)
        assert landed_on(response) == target
        forms = re.findall(r'<form method="post"( action="[^"]*")?', response.content.decode())
        assert f' action="{target}"' in forms and "" not in forms, name


def test_a_submitted_questionnaire_is_not_where_she_lands(client, world):
    participant = world.participant_a
    assessment = open_assessment(participant)
    assessment_submit(
        participant=participant,
        assessment_id=assessment.pk,
        actor=participant.user,
        confirm_unanswered=True,
    )
    assert landed_on(log_in(client)) == reverse("diary:home")


def test_a_safe_next_is_where_she_lands_before_her_questionnaire(client, world):
    open_assessment(world.participant_a)
    target = reverse("diary:reminder_preferences")
    response = log_in(client, next_url=target)
    assert landed_on(response) == target
    # The page is rendered as a GET of its own address: its language form comes back to it.
    assert f'name="next" value="{target}"' in response.content.decode()


@pytest.mark.parametrize("unsafe", ["https://evil.example/diary/", "//evil.example/diary/"])
def test_a_next_to_another_site_is_ignored(client, world, unsafe):
    assessment = open_assessment(world.participant_a)
    response = log_in(client, next_url=unsafe)
    assert landed_on(response) == reverse("diary:questionnaire", args=[assessment.pk])
    assert "evil.example" not in response.content.decode()


def test_a_next_that_is_not_a_diary_page_is_todays_redirect(client, world):
    """A page outside the diary, or one its view refuses or redirects, is not rendered in the
    login's answer: the login redirects to it, as Django's login does."""
    for target in ("/admin/", reverse("diary:questionnaire", args=[99999])):
        response = log_in(client, next_url=target)
        assert response.status_code == 302 and response.url == target, target
        assert SESSION_KEY in client.session
        client.post(reverse("diary:logout"))
    # A view that answers with a redirect (the logged-out page sends her home).
    response = log_in(client, next_url=reverse("diary:logged_out"))
    assert response.status_code == 302 and response.url == reverse("diary:logged_out")


def test_she_lands_in_her_own_language(client, world):
    Participant.objects.filter(pk=world.participant_a.pk).update(language="da")
    response = log_in(client)
    assert landed_on(response) == reverse("diary:home")
    assert response["Content-Language"] == "da"
    assert "Det skal du gøre nu" in response.content.decode()
    assert '<html lang="da">' in response.content.decode()


def test_the_landed_page_carries_a_new_session_and_a_working_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login_page = client.get(reverse("diary:login"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.content.decode())
    before = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        reverse("diary:login"),
        {"username": "S01-001", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
    )
    assert landed_on(response) == reverse("diary:home")
    # login() rotated the CSRF secret and the page's forms carry the new one.
    assert client.cookies[settings.CSRF_COOKIE_NAME].value != before
    assert settings.SESSION_COOKIE_NAME in response.cookies
    landed_token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()
    ).group(1)
    logout = client.post(reverse("diary:logout"), {"csrfmiddlewaretoken": landed_token})
    assert logout.status_code == 302 and logout.url == reverse("diary:logged_out")
    assert SESSION_KEY not in client.session


def test_a_failed_login_is_the_login_form_again(client, world):
    open_assessment(world.participant_a)
    response = client.post(
        reverse("diary:login"), {"username": "S01-001", "password": "not-her-password"}
    )
    assert response.status_code == 200 and "Content-Location" not in response
    assert "is not correct" in response.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("username", ["coordinator1", "admin"])
def test_staff_are_not_landed_anywhere(client, world, username):
    """Staff still log in at the admin only: here they get the form back, nothing else."""
    response = log_in(client, username)
    assert response.status_code == 200 and "Content-Location" not in response
    assert SESSION_KEY not in client.session
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()
