"""Nobody speaks for a participant: staff never set her password; every password change of any
account is audited."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from diary.models import AuditAction, AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TAKEOVER = "taken-over-Password-77"


@pytest.fixture
def password_changes(world):
    """The PASSWORD_CHANGED events written by the test itself (the world's set-up sets the
    participants' passwords too)."""
    before = AuditEvent.objects.order_by("pk").last().pk

    def written():
        return AuditEvent.objects.filter(
            action=AuditAction.PASSWORD_CHANGED, pk__gt=before
        ).order_by("pk")

    return written


def test_a_superuser_cannot_set_a_participants_password_and_log_in_as_her(
    client, world, password_changes
):
    """Attack: the superuser set a participant's password in the user admin, logged in as her
    and submitted answers the audit trail attributed to her."""
    her = world.participant_a.user
    url = reverse("admin:auth_user_password_change", args=[her.pk])
    client.force_login(world.admin)
    assert client.get(url).status_code == 404
    response = client.post(url, {"password1": TAKEOVER, "password2": TAKEOVER})
    assert response.status_code == 404
    her.refresh_from_db()
    assert her.check_password(PASSWORD) and not her.check_password(TAKEOVER)
    assert not password_changes().exists()
    client.logout()
    login = client.post(reverse("diary:login"), {"username": "S01-001", "password": TAKEOVER})
    assert login.status_code == 200 and SESSION_KEY not in client.session


def test_nor_switch_her_password_login_off(client, world):
    her = world.participant_a.user
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[her.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )
    assert response.status_code == 404
    her.refresh_from_db()
    assert her.has_usable_password() and her.check_password(PASSWORD)


def test_no_password_form_takes_a_participants_password_but_her_link(world):
    """The rule lives where every password form and command validates (diary.passwords)."""
    from django.contrib.auth.forms import AdminPasswordChangeForm, SetPasswordForm

    her = world.participant_a.user
    data = {"new_password1": TAKEOVER, "new_password2": TAKEOVER}
    for form in (
        SetPasswordForm(her, data),
        AdminPasswordChangeForm(her, {"password1": TAKEOVER, "password2": TAKEOVER}),
    ):
        assert not form.is_valid()
        assert "can only be set by her" in str(form.errors)


def test_manage_py_changepassword_refuses_a_participant(world):
    her = world.participant_a.user
    with (
        mock.patch("getpass.getpass", return_value=TAKEOVER),
        pytest.raises(CommandError, match="Aborting password change"),
    ):
        call_command("changepassword", her.username, stdout=mock.Mock(), stderr=mock.Mock())
    her.refresh_from_db()
    assert her.check_password(PASSWORD)


def test_a_participants_new_password_by_her_reset_link_is_audited_as_hers(
    client, world, django_capture_on_commit_callbacks, tasks_run_now, password_changes
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("diary:password_forgotten"), {"identifier": "S01-001"})
    link = re.search(r"/diary/invitation/[^/\s]+/", mail.outbox[0].body).group(0)
    client.post(link)
    new = "violet-harbour-kettle-73"
    response = client.post(
        reverse("diary:invitation_password"), {"new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    event = password_changes().get()
    assert event.actor == world.participant_a.user
    assert event.participant == world.participant_a
    assert event.details == {"account": "S01-001", "by_link": True}


def test_a_superuser_setting_a_staff_password_is_audited_with_her_name(
    client, world, password_changes
):
    client.force_login(world.admin)
    url = reverse("admin:auth_user_password_change", args=[world.monitor.pk])
    response = client.post(url, {"password1": TAKEOVER, "password2": TAKEOVER})
    assert response.status_code == 302
    world.monitor.refresh_from_db()
    assert world.monitor.check_password(TAKEOVER)
    event = password_changes().get()
    assert event.actor == world.admin
    assert event.participant is None
    assert event.details == {"account": "monitor"}
    assert TAKEOVER not in str(event.details) and "md5" not in str(event.details)


def test_switching_a_staff_password_login_off_is_audited_too(client, world, password_changes):
    client.force_login(world.admin)
    url = reverse("admin:auth_user_password_change", args=[world.monitor.pk])
    response = client.post(url, {"usable_password": "false", "unset-password": "1"})
    assert response.status_code == 302
    world.monitor.refresh_from_db()
    assert not world.monitor.has_usable_password()
    assert password_changes().get().details == {"account": "monitor", "disabled": True}


def test_her_own_password_change_in_the_admin_is_audited(client, world, password_changes):
    client.force_login(world.coordinator1)
    response = client.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": TAKEOVER, "new_password2": TAKEOVER},
    )
    assert response.status_code == 302
    event = password_changes().get()
    assert (event.actor, event.details) == (world.coordinator1, {"account": "coordinator1"})


def test_a_password_set_by_a_command_is_audited_without_an_actor(world, password_changes):
    with mock.patch("getpass.getpass", return_value=TAKEOVER):
        call_command("changepassword", "monitor", stdout=mock.Mock(), stderr=mock.Mock())
    event = password_changes().get()
    assert event.actor is None and event.details == {"account": "monitor"}
