"""Bad input on the account forms: login, forgotten password, invitation links and password,
language switch.

Each property posts malformed or oversized values and checks: no server error, a message that
says what was wrong, and nothing stored (no login, no link used or sent, no password or language
changed). See tests/bad_input.py for how examples are isolated.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from hypothesis import assume, given
from hypothesis import strategies as st

from diary.auth import user_for_identifier
from diary.models import AuditAction, AuditEvent, Invitation
from diary.services.invitations import invitation_send
from diary.services.participants import participant_enrol
from tests.bad_input import BOUNDED, FEW, example_isolated, junk_text, snapshot, text_of
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_MESSAGES = (
    "This field is required.",
    "Ensure this value has at most 254 characters",
    "Null characters are not allowed.",
    "The study ID, e-mail address or password is not correct. Please try again.",
)


def one_of_in(messages: tuple[str, ...], text: str) -> bool:
    return any(message in text for message in messages)


# ---- login ---------------------------------------------------------------------------------------


@BOUNDED
@given(
    username=st.one_of(junk_text(), st.sampled_from(["S01-001", "s01-001@example.org", "admin"])),
    password=junk_text(),
)
def test_a_bad_login_never_fails_says_why_and_logs_nobody_in(client, world, username, password):
    assume(password != PASSWORD)
    with example_isolated():
        before = snapshot()
        response = client.post(reverse("diary:login"), {"username": username, "password": password})
        assert response.status_code == 200
        assert one_of_in(LOGIN_MESSAGES, text_of(response))
        assert SESSION_KEY not in client.session
        assert snapshot() == before  # no LOGIN event, nothing else written


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", "", "This field is required."),
        ("S01-001", "", "This field is required."),
        ("x" * 255, PASSWORD, "Ensure this value has at most 254 characters (it has 255)."),
        ("S01\x00-001", PASSWORD, "Null characters are not allowed."),
        ("S01-001", "wrong\x00", "Null characters are not allowed."),
        ("S01-001", "wrong", "The study ID, e-mail address or password is not correct."),
        ("S01-001", PASSWORD * 10_000, "The study ID, e-mail address or password is not correct."),
        ("\u202es01-001", PASSWORD, "The study ID, e-mail address or password is not correct."),
    ],
)
def test_a_bad_login_says_what_is_wrong(client, world, username, password, message):
    response = client.post(reverse("diary:login"), {"username": username, "password": password})
    assert response.status_code == 200
    assert message in text_of(response)
    assert SESSION_KEY not in client.session
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()


def test_an_identifier_that_grows_when_lowercased_is_refused_without_a_server_error(client, world):
    """Regression: 254 x 'İ' passes the form's 254-character limit but lowercases to 508
    characters, the name django-axes stores in a 255-character column: a database error (500)."""
    response = client.post(
        reverse("diary:login"), {"username": "\u0130" * 254, "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "The study ID, e-mail address or password is not correct." in text_of(response)
    assert SESSION_KEY not in client.session


def test_a_huge_user_agent_on_a_failed_login_is_no_server_error(client, world):
    response = client.post(
        reverse("diary:login"),
        {"username": "S01-001", "password": "wrong"},
        headers={"User-Agent": "x" * 100_000, "Accept": "y" * 100_000},
    )
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


# ---- forgotten password --------------------------------------------------------------------------


@BOUNDED
@given(identifier=junk_text())
def test_a_forgotten_password_request_for_junk_sends_and_stores_nothing(client, world, identifier):
    assume(user_for_identifier(identifier.replace("\x00", "")) is None)
    with example_isolated():
        before = snapshot()
        response = client.post(reverse("diary:password_forgotten"), {"identifier": identifier})
        assert response.status_code == 200
        text = text_of(response)
        assert one_of_in(
            (
                "This field is required.",
                "Ensure this value has at most 254 characters",
                "Null characters are not allowed.",
                # The same answer as for a real account: the page reveals no participant.
                "If the study ID or e-mail address belongs to a diary",
            ),
            text,
        )
        assert snapshot() == before  # no Invitation, no e-mail, no PASSWORD_RESET event


# ---- invitation links and the password step ------------------------------------------------------


@pytest.fixture
def invited(world):
    """An invited participant and the token of her invitation link."""
    participant = participant_enrol(
        study=world.study,
        site=world.site1,
        subject_id="S01-077",
        email="s01-077@example.org",
        actor=None,
    )
    url = invitation_send(participant=participant, actor=None)
    return participant, url.rstrip("/").rsplit("/", 1)[-1]


@BOUNDED
@given(token=junk_text(max_size=100), method=st.sampled_from(["get", "post"]))
def test_a_junk_invitation_link_says_it_is_not_valid_and_uses_nothing(
    client, invited, token, method
):
    with example_isolated():
        before = snapshot()
        url = "/diary/invitation/" + quote(token, safe="") + "/"
        response = getattr(client, method)(url)
        assert response.status_code in (404, 410)  # 404: no token, or one with "/" in it
        if response.status_code == 410:
            assert "This link is not valid." in text_of(response)
        assert "invitation_token" not in client.session or method == "get"
        assert snapshot() == before


def passwords_strategy() -> st.SearchStrategy[tuple[str, str]]:
    same = st.one_of(
        junk_text(max_size=40), st.sampled_from(["short", "12345678901234", "password1234"])
    ).map(lambda p: (p, p))
    return st.one_of(same, st.tuples(junk_text(max_size=40), junk_text(max_size=40)))


@BOUNDED
@given(passwords=passwords_strategy())
def test_a_bad_new_password_is_refused_and_the_link_stays_unused(client, invited, passwords):
    participant, token = invited
    first, second = passwords
    with example_isolated():
        client.post(reverse("diary:invitation", args=[token]))  # the "Continue" button
        before = snapshot()
        response = client.post(
            reverse("diary:invitation_password"),
            {"new_password1": first, "new_password2": second},
        )
        assert response.status_code < 500
        if response.status_code == 302:  # a strong enough random pair: accepted, link used
            assert Invitation.objects.get(participant=participant).used_at is not None
            return
        assert response.status_code == 200
        assert one_of_in(
            (
                "This field is required.",
                "The two password fields didn\u2019t match.",
                "Null characters are not allowed.",
                "This password is too short.",
                "This password is too common.",
                "This password is entirely numeric.",
                "The password is too similar",
            ),
            text_of(response),
        )
        assert snapshot() == before
        assert Invitation.objects.get(participant=participant).used_at is None


def test_the_password_step_without_a_confirmed_link_says_the_link_is_not_valid(client, world):
    before = snapshot()
    response = client.post(
        reverse("diary:invitation_password"),
        {"new_password1": "a-Good-password-42", "new_password2": "a-Good-password-42"},
    )
    assert response.status_code == 410
    assert "This link is not valid." in text_of(response)
    assert snapshot() == before


def test_a_huge_matching_password_is_no_server_error(client, invited):
    participant, token = invited
    client.post(reverse("diary:invitation", args=[token]))
    password = "Aa1-" * 50_000
    response = client.post(
        reverse("diary:invitation_password"),
        {"new_password1": password, "new_password2": password},
    )
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert Invitation.objects.get(participant=participant).used_at is None


# ---- language switch -----------------------------------------------------------------------------


@BOUNDED
@given(
    code=st.one_of(
        junk_text(max_size=40),
        st.sampled_from(["de", "EN", "da-DK", "xx", "en\x00", "../da", "zh-hans", "da "]),
    ),
    logged_in=st.booleans(),
)
def test_an_unknown_language_code_changes_nothing_and_says_so(client, world, code, logged_in):
    assume(code not in {"en", "da"})
    participant = world.participant_a
    with example_isolated():
        if logged_in:
            client.force_login(participant.user)
        before = snapshot()
        response = client.post(
            reverse("diary:language"),
            {"language": code, "next": reverse("diary:home")},
            follow=True,
        )
        assert response.status_code == 200
        assert "This language is not available." in text_of(response)
        assert snapshot() == before  # her language is unchanged
        assert response.wsgi_request.LANGUAGE_CODE == "en"
        assert django_settings.LANGUAGE_COOKIE_NAME not in client.cookies
        client.logout()


@pytest.mark.parametrize("code", ["da-DK", "da-dk", "EN", "de"])
def test_a_language_variant_is_not_taken_into_the_cookie_either(client, world, code):
    """Regression: set_language took "da-DK" into the language cookie (Danish pages) while her
    record, and the reply, treated it as unknown."""
    client.force_login(world.participant_a.user)
    response = client.post(
        reverse("diary:language"), {"language": code, "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("diary:home")
    assert django_settings.LANGUAGE_COOKIE_NAME not in response.cookies
    page = client.get(response["Location"])
    assert "This language is not available." in text_of(page)
    world.participant_a.refresh_from_db()
    assert world.participant_a.language == "en"


def test_a_known_language_code_is_still_kept_on_her_record(client, world):
    participant = world.participant_a
    client.force_login(participant.user)
    response = client.post(reverse("diary:language"), {"language": "da", "next": "/diary/"})
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.language == "da"


# ---- where login and logout send her next --------------------------------------------------------


def next_urls() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                "https://evil.example/",
                "//evil.example/",
                "\\\\evil.example",
                "javascript:alert(1)",
                "/\\evil.example",
                "http:/evil.example",
                "/diary/\x00",
            ]
        ),
        junk_text(max_size=60),
    )


@FEW
@given(next_url=next_urls())
def test_login_and_logout_never_redirect_off_site_whatever_next_says(client, world, next_url):
    with example_isolated():
        login = client.post(
            reverse("diary:login") + "?next=" + quote(next_url, safe=""),
            {"username": "S01-001", "password": PASSWORD, "next": next_url},
        )
        # The login answers with the page it lands on (diary/views/login.py: its address in
        # Content-Location, put in the address bar by its script) or redirects to it.
        assert login.status_code in (200, 302)
        assert ("Content-Location" if login.status_code == 200 else "Location") in login
        assert SESSION_KEY in client.session
        logout = client.post(reverse("diary:logout"), {"next": next_url})
        assert logout.status_code == 302
        assert SESSION_KEY not in client.session
        for response in (login, logout):
            # A relative URL is fine; only another host or scheme would be an open redirect.
            where = response.get("Location") or response["Content-Location"]
            target = urlsplit(where.replace("\\", "/"))
            assert target.scheme in ("", "http", "https")
            assert target.netloc in ("", "testserver")
