"""Roles are groups with explicit permissions; access needs the permission AND a membership."""

import pytest
from django.contrib.auth.models import Group

from diary import access
from diary.models import AuditAction, AuditEvent, GrantRight, StaffMembership, StaffRole
from diary.services import grants, staff
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def perms(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_the_migration_creates_one_group_per_role_with_its_permissions(db):
    for role, name in access.ROLE_GROUPS.items():
        assert perms(name) == set(access.ROLE_PERMISSIONS[role]), role


def test_monitor_group_is_read_only_and_blinded(db):
    monitor = perms("Monitor")
    # Reading, and taking a blinded copy of what she reads: nothing that adds or changes
    # study data. Her own writes are reviews of signals and queries to sites.
    assert all(".view_" in p for p in monitor - {"diary.export_data", "diary.review_signals"})
    assert not monitor & {"diary.view_allocation", "diary.view_unblinded", "diary.view_treatment"}
    assert "diary.export_unblinded" not in monitor


def test_only_the_statistician_group_is_unblinded(db):
    holders = [
        name for name in access.ROLE_GROUPS.values() if "diary.view_unblinded" in perms(name)
    ]
    assert holders == ["Unblinded statistician"]


def test_groups_follow_memberships(world):
    user = world.coordinator1
    assert list(user.groups.values_list("name", flat=True)) == ["Coordinator"]
    StaffMembership.objects.filter(user=user).update(role=StaffRole.MONITOR)
    staff.staff_groups_sync(user=user)
    assert list(user.groups.values_list("name", flat=True)) == ["Monitor"]


def test_permission_is_checked_against_the_site(world):
    c1 = world.coordinator1
    study = world.study.pk
    assert access.staff_can(
        c1, "diary.withdraw_participant", study_id=study, site_id=world.site1.pk
    )
    assert not access.staff_can(
        c1, "diary.withdraw_participant", study_id=study, site_id=world.site2.pk
    )
    assert not access.staff_can(world.monitor, "diary.withdraw_participant")


def test_a_superuser_without_a_study_role_sees_no_clinical_data(world):
    root = make_staff("root", superuser=True)
    assert root.has_perm("diary.view_participant")  # Django's view of a superuser...
    assert not access.staff_can(root, "diary.view_participant")  # ...is not enough here.
    assert not access.participants_where(root, "diary.view_participant").exists()
    assert access.unblinded_study_ids(root) == []


def test_a_superuser_with_a_blinded_role_is_not_unblinded(world):
    assert world.admin.is_superuser
    assert access.unblinded_study_ids(world.admin) == []
    assert access.unblinded_study_ids(world.statistician) == [world.study.pk]


def test_a_membership_without_the_group_grants_nothing(world):
    # The role's group was removed by hand: the membership alone opens nothing.
    world.monitor.groups.clear()
    assert not access.staff_can(world.monitor, "diary.view_participant")


def test_adding_a_membership_in_the_admin_puts_the_user_in_the_role_group(client, world):
    client.force_login(world.admin)
    response = client.post(
        "/admin/diary/staffmembership/add/",
        {"user": world.outsider.pk, "study": world.study.pk, "site": "", "role": "monitor"},
    )
    assert response.status_code == 302
    assert list(world.outsider.groups.values_list("name", flat=True)) == ["Monitor"]
    event = AuditEvent.objects.get(action=AuditAction.STUDY_CHANGED)
    assert (event.actor, event.details["role"], event.details["user"]) == (
        world.admin,
        "monitor",
        "outsider",
    )
    client.force_login(world.outsider)
    assert client.get("/admin/diary/participant/").status_code == 200


def test_only_the_system_admin_manages_memberships(client, world):
    for user in (world.coordinator1, world.monitor, world.statistician):
        client.force_login(user)
        assert client.get("/admin/diary/staffmembership/").status_code == 404


def test_granting_an_unblinded_role_is_audited_with_that_reason(world):
    """Only a two-person grant writes an unblinded membership; the membership's own event
    names the request (tests/diary/services/test_grants.py has the rest)."""
    grant = grants.grant_propose(
        study=world.study,
        grantee=world.outsider,
        right=GrantRight.UNBLINDED_ROLE,
        role="statistician",
        reason="Second statistician for the interim analysis",
        actor=world.admin,
    )
    grants.grant_approve(grant=grant, actor=world.statistician)
    event = AuditEvent.objects.get(action=AuditAction.STUDY_CHANGED)
    assert event.reason == f"granted by request {grant.pk}"
    assert event.actor == world.statistician
    assert access.unblinded_study_ids(world.outsider) == [world.study.pk]
