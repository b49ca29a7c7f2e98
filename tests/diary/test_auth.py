"""Logging in by study id or e-mail, lockout, forgotten password, idle timeout, roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from diary.models import AuditAction, AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-harbour-kettle-73"


def without_csrf(content: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content.decode())


def log_in(client, identifier: str, password: str = PASSWORD):
    return client.post(reverse("diary:login"), {"username": identifier, "password": password})


@pytest.mark.parametrize("identifier", ["S01-001", "s01-001", "s01-001@example.org"])
def test_participant_logs_in_with_study_id_or_email(client, world, identifier):
    response = log_in(client, identifier)
    # The login answers with her home page itself (diary/views/login.py), no redirect.
    assert response.status_code == 200
    assert response["Content-Location"] == reverse("diary:home")
    assert "Your diary (S01-001)" in response.content.decode()
    assert "Your diary (S01-001)" in client.get(reverse("diary:home")).content.decode()
    event = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert event.participant == world.participant_a


def test_a_wrong_password_says_so_and_is_audited_without_the_typed_address(client, world):
    response = log_in(client, "s01-001@example.org", "wrong-password")
    assert response.status_code == 200
    assert "is not correct" in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.participant == world.participant_a
    assert "example.org" not in str(event.details)


def test_logout_is_audited(client, world):
    log_in(client, "S01-001")
    client.post(reverse("diary:logout"))
    assert AuditEvent.objects.filter(
        action=AuditAction.LOGOUT, participant=world.participant_a
    ).exists()


def test_repeated_failures_lock_the_account_whichever_identifier_is_typed(client, world):
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(limit - 1):
        identifier = "S01-001" if attempt % 2 else "s01-001@example.org"
        assert log_in(client, identifier, "wrong-password").status_code == 200
    response = log_in(client, "S01-001", "wrong-password")
    assert response.status_code == 429
    assert "too many unsuccessful attempts" in response.content.decode()
    # Even the right password is refused while locked.
    assert log_in(client, "s01-001@example.org").status_code == 429
    assert AuditEvent.objects.filter(
        action=AuditAction.LOCKOUT, participant=world.participant_a
    ).exists()


def test_forgotten_password_answers_the_same_for_unknown_accounts(
    client, world, django_capture_on_commit_callbacks, tasks_run_now
):
    url = reverse("diary:password_forgotten")
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(url, {"identifier": "S01-001"})
        unknown = client.post(url, {"identifier": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known.content) == without_csrf(unknown.content)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["s01-001@example.org"]


def test_reset_link_is_single_use_and_sets_a_new_password(
    client, world, django_capture_on_commit_callbacks, tasks_run_now
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("diary:password_forgotten"), {"identifier": "s01-001@example.org"})
    link = re.search(r"/diary/invitation/[^/\s]+/", mail.outbox[0].body).group(0)
    assert "Choose a new password" in client.get(link).content.decode()
    client.post(link)
    response = client.post(
        reverse("diary:invitation_password"),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.url == reverse("diary:home")
    world.participant_a.user.refresh_from_db()
    assert world.participant_a.user.check_password(NEW_PASSWORD)
    client.post(reverse("diary:logout"))
    assert client.get(link).status_code == 410


def test_a_weak_password_is_refused_by_the_validators(
    client, world, django_capture_on_commit_callbacks, tasks_run_now
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("diary:password_forgotten"), {"identifier": "S01-001"})
    link = re.search(r"/diary/invitation/[^/\s]+/", mail.outbox[0].body).group(0)
    client.post(link)
    response = client.post(
        reverse("diary:invitation_password"), {"new_password1": "1234", "new_password2": "1234"}
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()


def test_an_idle_session_expires_and_sends_her_back_to_login(client, world):
    log_in(client, "S01-001")
    assert client.get(reverse("diary:home")).status_code == 200
    # Idle for longer than the timeout: the stored session has expired.
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("diary:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("diary:login"))


def test_activity_keeps_the_session_alive_renewing_it_at_most_once_a_minute(client, world):
    log_in(client, "S01-001")
    age = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    renew = timedelta(seconds=settings.SESSION_RENEW_SECONDS)
    assert timedelta(0) < renew < age
    # Renewed within the last minute: a request writes nothing.
    recently = timezone.now() + age - renew / 2
    Session.objects.update(expire_date=recently)
    assert client.get(reverse("diary:home")).status_code == 200
    assert Session.objects.get().expire_date == recently
    # Renewed longer ago: the next request pushes the end to a full idle timeout from now.
    earlier = timezone.now() + age - renew - timedelta(seconds=1)
    Session.objects.update(expire_date=earlier)
    before = timezone.now()
    assert client.get(reverse("diary:home")).status_code == 200
    assert Session.objects.get().expire_date >= before + age
    # Still signed in, and never past the idle timeout after her last request.
    assert client.get(reverse("diary:home")).status_code == 200
    assert Session.objects.get().expire_date <= timezone.now() + age


@pytest.mark.parametrize("username", ["coordinator1", "monitor", "statistician", "admin"])
def test_staff_cannot_log_in_at_the_participant_login(client, world, username):
    """Staff log in at the admin's login, which asks for their second factor: here even the
    right password is answered as a wrong one, and counted as a failure."""
    right = log_in(client, username)
    assert right.status_code == 200
    assert SESSION_KEY not in client.session
    wrong = log_in(client, username, "wrong-password")
    assert without_csrf(right.content) == without_csrf(wrong.content)
    assert "is not correct" in right.content.decode()
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert failures.count() == 2
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()


def test_participants_never_reach_the_admin(client, world):
    log_in(client, "S01-001")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    assert client.get("/admin/diary/participant/").status_code == 302


def test_a_withdrawn_participant_gets_no_diary(client, world):
    from django.utils import timezone

    participant = world.participant_a
    client.force_login(participant.user)
    participant.status = "withdrawn"
    participant.withdrawn_at = timezone.now()
    participant.withdrawal_reason = "Moved away"
    participant.save()
    assert client.get(reverse("diary:home")).status_code == 404


# ---- lockout per account, throttle per address ----------------------------------------------


def log_in_from(client, address: str, identifier: str, password: str = PASSWORD, **headers):
    return client.post(
        reverse("diary:login"),
        {"username": identifier, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def logged_in(response) -> bool:
    """A login that let her in: it answers with her home page (diary/views/login.py)."""
    return response.status_code == 200 and response.get("Content-Location") == reverse(
        "diary:home"
    )


def test_guesses_spread_over_addresses_still_lock_the_account(client, world):
    """Attack: 12 guesses from 3 addresses (4 each, under the limit of 5 per account and
    address), then the correct password logged in."""
    addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    for guess in range(12):
        log_in_from(client, addresses[guess % 3], "S01-001", f"guess-{guess}")
    response = log_in_from(client, "10.0.0.4", "S01-001")
    assert response.status_code == 429
    assert SESSION_KEY not in client.session
    assert "too many unsuccessful attempts" in response.content.decode()
    # Another account is not affected by her lockout.
    assert logged_in(log_in_from(client, "10.0.0.4", "S02-001"))


def test_one_address_trying_many_accounts_is_throttled_on_its_own(client, world):
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    for guess in range(limit):
        # One guess per name: no account comes near its own limit.
        log_in_from(client, "10.0.0.9", f"S09-{guess:03d}", "password1")
    response = log_in_from(client, "10.0.0.9", "S01-001")
    assert response.status_code == 429
    assert SESSION_KEY not in client.session
    event = AuditEvent.objects.filter(action=AuditAction.LOCKOUT).latest("pk")
    assert event.details["scope"] == "address" and event.participant is None
    # The same account from another address logs in: only the address was throttled.
    assert logged_in(log_in_from(client, "10.0.0.10", "S01-001"))


def test_a_forged_forwarded_for_header_does_not_choose_the_address(client, world, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    for guess in range(limit):
        log_in_from(
            client,
            "10.0.0.9",
            f"S09-{guess:03d}",
            "password1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{guess}",
        )
    assert log_in_from(client, "10.0.0.9", "S01-001").status_code == 429


def test_behind_a_trusted_proxy_the_client_address_is_counted(client, world, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    for guess in range(limit):
        # The client writes the left part; the proxy appends the address it saw.
        log_in_from(
            client,
            "172.16.0.1",
            f"S09-{guess:03d}",
            "password1",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{guess}, 203.0.113.7",
        )
    # Another client behind the same proxy is not throttled; the guessing one is.
    other = log_in_from(client, "172.16.0.1", "S01-001", HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert logged_in(other)
    client.post(reverse("diary:logout"))
    guessing = log_in_from(client, "172.16.0.1", "S02-001", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert guessing.status_code == 429
