"""The forgotten-password page reveals nothing and cannot be used to flood: the same work for
every case, the sending in a task, rate limits per identifier and per address, and a probe
never replaces the link she already has."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from diary.models import AuditAction, AuditEvent, Invitation, PasswordResetRequest
from diary.services.accounts import password_reset_send
from diary.services.invitations import invitation_check

pytestmark = pytest.mark.django_db

URL = reverse("diary:password_forgotten")


def ask(client, identifier: str, address: str = "10.1.0.1"):
    return client.post(URL, {"identifier": identifier}, REMOTE_ADDR=address)


def queries_of(client, on_commit, identifier: str, address: str) -> list[str]:
    """The SQL one request runs, with its values left out; checks it queued the task."""
    with mock.patch("diary.tasks.password_reset_send_task.delay") as queued:
        with on_commit(execute=True), CaptureQueriesContext(connection) as captured:
            response = ask(client, identifier, address)
        assert response.status_code == 200
        queued.assert_called_once_with(identifier)
    # Values and savepoint names left out.
    return [
        re.sub(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"", "?", q["sql"])
        for q in captured.captured_queries
    ]


def test_the_request_does_the_same_work_for_an_active_account_and_an_unknown_one(
    client, world, django_capture_on_commit_callbacks
):
    """Attack: an active account answered ~5 ms slower, because her e-mail was sent inside the
    request. Now every request runs the same statements and queues the same task; the e-mail
    is the task's."""
    on_commit = django_capture_on_commit_callbacks
    known = queries_of(client, on_commit, "S01-001", "10.1.0.1")
    unknown = queries_of(client, on_commit, "S99-999", "10.1.0.2")
    email = queries_of(client, on_commit, "s01-001@example.org", "10.1.0.3")
    assert known == unknown == email
    assert mail.outbox == []
    assert not Invitation.objects.filter(purpose="password_reset").exists()


def test_the_task_sends_her_link_and_does_nothing_for_an_unknown_account(
    client, world, django_capture_on_commit_callbacks, tasks_run_now
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, "nobody@example.org")
        ask(client, "S99-999")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, "s01-001@example.org")
    assert [m.to for m in mail.outbox] == [["s01-001@example.org"]]


def test_probes_neither_flood_her_inbox_nor_revoke_her_link(
    client, world, django_capture_on_commit_callbacks, tasks_run_now
):
    """Attack: every probe e-mailed her and revoked her earlier link."""
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, "S01-001", "10.1.0.1")
    first = re.search(r"/diary/invitation/([^/\s]+)/", mail.outbox[0].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        for n, identifier in enumerate(["S01-001", "s01-001@example.org", "s01-001"]):
            ask(client, identifier, f"10.1.0.{n + 2}")
    assert len(mail.outbox) == 1
    assert invitation_check(token=first)  # still usable
    # Once the cool-down has passed she may ask again; the earlier link still works until
    # she uses one of them.
    later = timezone.now() + settings.PASSWORD_RESET_COOLDOWN + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert password_reset_send(identifier="S01-001", now=later)
    assert len(mail.outbox) == 2
    second = re.search(r"/diary/invitation/([^/\s]+)/", mail.outbox[1].body).group(1)
    assert invitation_check(token=first, now=later) and invitation_check(token=second, now=later)


def test_using_one_of_her_links_revokes_the_others(
    client, world, django_capture_on_commit_callbacks, tasks_run_now
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        password_reset_send(identifier="S01-001", now=now - settings.PASSWORD_RESET_COOLDOWN * 2)
        password_reset_send(identifier="S01-001", now=now)
    first, second = (
        re.search(r"/diary/invitation/([^/\s]+)/", m.body).group(1) for m in mail.outbox
    )
    client.post(reverse("diary:invitation", args=[second]))
    new = "violet-harbour-kettle-73"
    client.post(reverse("diary:invitation_password"), {"new_password1": new, "new_password2": new})
    client.post(reverse("diary:logout"))
    assert client.get(reverse("diary:invitation", args=[first])).status_code == 410


def test_requests_for_one_identifier_are_limited_from_any_address(
    client, world, django_capture_on_commit_callbacks
):
    limit = settings.PASSWORD_RESET_LIMIT_PER_IDENTIFIER
    with (
        mock.patch("diary.tasks.password_reset_send_task.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        for n in range(limit):
            assert ask(client, "S01-001", f"10.2.0.{n}").status_code == 200
        refused = ask(client, " s01-001 ", "10.2.9.9")  # the same identifier, typed otherwise
    assert refused.status_code == 429
    assert "Too many requests for a new password" in refused.content.decode()
    assert queued.call_count == limit
    assert PasswordResetRequest.objects.count() == limit  # the refused one stored nothing


def test_requests_from_one_address_are_limited_whatever_is_typed(
    client, world, django_capture_on_commit_callbacks
):
    limit = settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
    with (
        mock.patch("diary.tasks.password_reset_send_task.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        for n in range(limit):
            assert ask(client, f"S09-{n:03d}", "10.3.0.1").status_code == 200
        refused = ask(client, "S01-001", "10.3.0.1")
        other = ask(client, "S01-001", "10.3.0.2")
    assert refused.status_code == 429
    assert other.status_code == 200
    assert queued.call_count == limit + 1


def test_the_limits_forget_requests_older_than_their_window(client, world):
    PasswordResetRequest.objects.bulk_create(
        PasswordResetRequest(
            requested_at=timezone.now() - settings.PASSWORD_RESET_WINDOW - timedelta(minutes=1),
            identifier_digest="0" * 64,
            address="10.4.0.1",
        )
        for _ in range(settings.PASSWORD_RESET_LIMIT_PER_ADDRESS)
    )
    with mock.patch("diary.tasks.password_reset_send_task.delay"):
        assert ask(client, "S01-001", "10.4.0.1").status_code == 200
    password_reset_send(identifier="nobody")  # the task also deletes what no limit reads
    assert PasswordResetRequest.objects.count() == 1


def test_no_contact_detail_is_stored_by_a_request(client, world):
    with mock.patch("diary.tasks.password_reset_send_task.delay"):
        ask(client, "s01-001@example.org")
    stored = PasswordResetRequest.objects.get()
    assert "example.org" not in stored.identifier_digest
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_RESET).exists()


def test_a_broker_that_does_not_answer_still_gets_her_the_same_page(client, world):
    from kombu.exceptions import OperationalError

    with mock.patch(
        "diary.tasks.password_reset_send_task.delay", side_effect=OperationalError("down")
    ):
        response = ask(client, "S01-001")
    assert response.status_code == 200
    assert "If the study ID or e-mail address belongs to a diary" in response.content.decode()
