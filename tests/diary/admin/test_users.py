"""The user, group and membership admins under attack (issue 13, items 3 and 8).

- Nobody unblinds herself: the blinded superuser cannot change her own memberships, groups or
  permissions, and cannot give anyone an unblinded role or the emergency-unblinding permission
  on her own (that is a grant request a second holder approves: tests/diary/services/
  test_grants.py).
- Contacts stay apart: participant accounts are not listed, shown, searched, autocompleted or
  edited in the user admin, for anyone; staff following an actor link there get nothing.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary import access
from diary.models import AuditEvent, StaffMembership, StaffRole

pytestmark = pytest.mark.django_db

User = get_user_model()


def emergency() -> Permission:
    return Permission.objects.get(codename="emergency_unblind", content_type__app_label="diary")


def user_form(user, **changes) -> dict:
    """What the user admin's change form posts for `user`, with `changes`."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [g.pk for g in user.groups.all()],
        "user_permissions": [p.pk for p in user.user_permissions.all()],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def fresh(user):
    return User.objects.get(pk=user.pk)


# --- 13.3: nobody changes her own rights -------------------------------------------------------
def test_she_cannot_change_her_own_membership_to_the_unblinded_role(client, world):
    """The attack: the blinded superuser edits her membership to the statistician's role."""
    own = StaffMembership.objects.get(user=world.admin)
    client.force_login(world.admin)
    url = reverse("admin:diary_staffmembership_change", args=[own.pk])
    client.post(url, {"user": world.admin.pk, "study": world.study.pk, "role": "statistician"})
    assert StaffMembership.objects.get(pk=own.pk).role == StaffRole.ADMIN
    assert access.unblinded_study_ids(fresh(world.admin)) == []


def test_she_cannot_add_herself_a_membership(client, world):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:diary_staffmembership_add"),
        {
            "user": world.admin.pk,
            "study": world.study.pk,
            "site": world.site1.pk,
            "role": "coordinator",
        },
    )
    assert response.status_code == 200
    assert "You cannot change your own memberships" in response.content.decode()
    assert StaffMembership.objects.filter(user=world.admin).count() == 1


def test_she_cannot_give_anyone_the_unblinded_role_alone(client, world):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:diary_staffmembership_add"),
        {"user": world.outsider.pk, "study": world.study.pk, "role": "statistician"},
    )
    assert response.status_code == 200
    assert "grant request" in response.content.decode()
    assert not StaffMembership.objects.filter(user=world.outsider).exists()
    assert access.unblinded_study_ids(fresh(world.outsider)) == []


def test_she_can_still_give_another_user_a_blinded_role(client, world):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:diary_staffmembership_add"),
        {"user": world.outsider.pk, "study": world.study.pk, "role": "monitor"},
    )
    assert response.status_code == 302
    assert StaffMembership.objects.get(user=world.outsider).role == StaffRole.MONITOR


def test_she_cannot_grant_herself_the_emergency_permission(client, world):
    client.force_login(world.admin)
    url = reverse("admin:auth_user_change", args=[world.admin.pk])
    client.post(url, user_form(world.admin, user_permissions=[emergency().pk]))
    admin = fresh(world.admin)
    assert not admin.user_permissions.filter(codename="emergency_unblind").exists()
    assert not access.may_emergency_unblind(admin, world.participant_a)


def test_she_cannot_put_herself_in_a_group_or_drop_her_superuser_flag(client, world):
    statisticians = Group.objects.get(name="Unblinded statistician")
    other = Group.objects.create(name="Helpers")
    client.force_login(world.admin)
    url = reverse("admin:auth_user_change", args=[world.admin.pk])
    client.post(url, user_form(world.admin, groups=[statisticians.pk, other.pk]))
    admin = fresh(world.admin)
    assert set(admin.groups.values_list("name", flat=True)) == {"Study admin"}
    # Her own page shows her rights read-only: nothing to tick.
    page = client.get(url).content.decode()
    assert 'name="user_permissions"' not in page and 'name="groups"' not in page


def test_she_cannot_grant_another_the_emergency_permission_by_name(client, world):
    client.force_login(world.admin)
    url = reverse("admin:auth_user_change", args=[world.coordinator1.pk])
    client.post(url, user_form(world.coordinator1, user_permissions=[emergency().pk]))
    assert not fresh(world.coordinator1).user_permissions.filter(pk=emergency().pk).exists()
    page = client.get(url).content.decode()
    assert "emergency" not in page.lower()  # not offered


def test_no_group_is_given_the_emergency_permission_or_edited_by_its_members(client, world):
    helpers = Group.objects.create(name="Helpers")
    world.admin.groups.add(helpers)
    client.force_login(world.admin)
    # A group she is in: she would change her own permissions.
    url = reverse("admin:auth_group_change", args=[helpers.pk])
    client.post(url, {"name": "Helpers", "permissions": [emergency().pk]})
    assert not helpers.permissions.exists()
    # Any other group: the permission is granted to a person only, through a grant request.
    others = Group.objects.create(name="Others")
    url = reverse("admin:auth_group_change", args=[others.pk])
    response = client.post(url, {"name": "Others", "permissions": [emergency().pk]})
    assert response.status_code == 200
    assert not others.permissions.exists()
    # The role groups hold the access policy's permissions: nobody edits them here.
    coordinators = Group.objects.get(name="Coordinator")
    before = set(coordinators.permissions.values_list("pk", flat=True))
    url = reverse("admin:auth_group_change", args=[coordinators.pk])
    client.post(url, {"name": "Coordinator", "permissions": [*before, emergency().pk]})
    assert set(coordinators.permissions.values_list("pk", flat=True)) == before


def test_a_group_grant_of_emergency_unblinding_does_not_count(world):
    """Granted to a person only: a group that somehow holds it gives its members nothing."""
    helpers = Group.objects.create(name="Helpers")
    helpers.permissions.add(emergency())
    world.coordinator1.groups.add(helpers)
    assert not access.may_emergency_unblind(fresh(world.coordinator1), world.participant_a)


# --- 13.8: contacts stay apart -----------------------------------------------------------------
def test_the_user_admin_lists_no_participant_account(client, world):
    """The attack: the blinded superuser read every participant's e-mail next to her ID."""
    client.force_login(world.admin)
    page = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert "coordinator1" in page
    for participant in (world.participant_a, world.participant_b):
        assert participant.subject_id not in page
        assert participant.contact.email not in page
    search = client.get(reverse("admin:auth_user_changelist"), {"q": "example.org"})
    assert world.participant_a.contact.email not in search.content.decode()


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_a_participant_account_does_not_exist_in_the_user_admin(client, world, view):
    account = world.participant_a.user
    client.force_login(world.admin)
    response = client.get(reverse(f"admin:auth_user_{view}", args=[account.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    before = (fresh(account).email, fresh(account).is_active)
    client.post(
        reverse("admin:auth_user_change", args=[account.pk]),
        user_form(account, email="attacker@example.org", is_staff="on"),
    )
    assert (fresh(account).email, fresh(account).is_active) == before
    assert not fresh(account).is_staff


def test_no_participant_account_is_autocompleted(client, world):
    """Autocomplete of a user field (the membership admin's) lists staff, never participants."""
    client.force_login(world.admin)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "diary", "model_name": "staffmembership", "field_name": "user", "term": "S0"},
    )
    assert "S01-001" not in response.content.decode()


def test_the_membership_form_offers_no_participant_account(client, world):
    client.force_login(world.admin)
    page = client.get(reverse("admin:diary_staffmembership_add")).content.decode()
    assert "coordinator1" in page
    assert world.participant_a.user.username not in page


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "statistician"])
def test_blinded_staff_following_an_actor_link_reach_no_account(client, world, who):
    """The audit list links an event's actor; staff who do not administer accounts get a page
    that does not exist, for a participant's account and a colleague's alike."""
    client.force_login(getattr(world, who))
    event = AuditEvent.objects.filter(participant=world.participant_a).first()
    assert event is not None
    for account in (world.participant_a.user, world.coordinator2):
        for view in ("change", "history"):
            url = reverse(f"admin:auth_user_{view}", args=[account.pk])
            assert client.get(url).status_code in (302, 404), url
            assert world.participant_a.contact.email not in client.get(url).content.decode()
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 404


# --- 13.3: nobody takes over a holder's login --------------------------------------------------
def test_nobody_sets_the_unblinded_statisticians_password(client, world):
    """The attack: the blinded superuser sets the statistician's password in the user admin,
    then logs in as her and reads the allocation. Her password page does not exist for others."""
    client.force_login(world.admin)
    url = reverse("admin:auth_user_password_change", args=[world.statistician.pk])
    before = fresh(world.statistician).password
    assert client.get(url).status_code == 404
    data = {"password1": "Another-horse-battery-7", "password2": "Another-horse-battery-7"}
    assert client.post(url, data).status_code == 404
    assert fresh(world.statistician).password == before


def test_a_blinded_coordinators_password_can_still_be_set_by_the_administrator(client, world):
    """The check can fail: for an account with no guarded right the page works as Django's."""
    client.force_login(world.admin)
    url = reverse("admin:auth_user_password_change", args=[world.coordinator1.pk])
    before = fresh(world.coordinator1).password
    data = {
        "password1": "Another-horse-battery-7",
        "password2": "Another-horse-battery-7",
        "set_usable_password": "true",
    }
    assert client.post(url, data).status_code == 302
    assert fresh(world.coordinator1).password != before


def test_nobody_redirects_the_statisticians_reset_link(client, world):
    """Her e-mail, where her reset link goes, is read-only to others: changing it would hand
    over her login as surely as her password."""
    client.force_login(world.admin)
    url = reverse("admin:auth_user_change", args=[world.statistician.pk])
    before = fresh(world.statistician).email
    client.post(url, user_form(world.statistician, email="attacker@example.org"))
    assert fresh(world.statistician).email == before


def test_nobody_enrols_an_authenticator_for_the_statistician(client, world):
    client.force_login(world.admin)
    url = reverse("admin:otp_totp_totpdevice_add")
    data = {
        "user": world.statistician.pk,
        "name": "taken over",
        "key": "3132333435363738393031323334353637383930",
        "step": 30,
        "t0": 0,
        "digits": 6,
        "tolerance": 1,
        "drift": 0,
        "last_t": -1,
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "only she can enrol her authenticator" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=world.statistician).exists()
    # For an account without a guarded right the form does not say so (the check can fail).
    response = client.post(url, {**data, "user": world.coordinator1.pk})
    assert "only she can enrol her authenticator" not in response.content.decode()
