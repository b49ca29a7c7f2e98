"""The access policy's explicit permissions: which role groups hold them (migration 0009), and
that each needs a membership covering the study and site as well as the permission."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from diary import access

pytestmark = pytest.mark.django_db

# Written out here, not read from diary.access: the table the tests hold the policy to.
PAGE_PERMISSIONS = {
    "export_data",
    "export_unblinded",
    "view_audit_trail",
    "correct_response",
    "emergency_unblind",
}
EXPECTED = {
    "Monitor": {"export_data", "view_audit_trail"},
    "Coordinator": {"export_data", "view_audit_trail", "correct_response"},
    "Study admin": {"export_data", "view_audit_trail"},
    "Unblinded statistician": {"export_data", "view_audit_trail", "export_unblinded"},
    "Investigator": {"export_data", "view_audit_trail", "correct_response"},
}
MIGRATION = ("diary", "0009_access_permissions")
# The groups migration 0009 knew (the investigator's came with 0021).
GROUPS_0009 = ("Monitor", "Coordinator", "Study admin", "Unblinded statistician")
# Change requests and signatures (migration 0021): who decides, who signs.
SITE_PERMISSIONS = {"decide_change_request", "sign_casebook"}
SITE_EXPECTED = {
    "Monitor": set(),
    "Coordinator": {"decide_change_request"},
    "Study admin": set(),
    "Unblinded statistician": set(),
    "Investigator": {"decide_change_request", "sign_casebook"},
}


def page_permissions(group_name: str, codenames=PAGE_PERMISSIONS) -> set[str]:
    return set(
        Group.objects.get(name=group_name)
        .permissions.filter(content_type__app_label="diary", codename__in=codenames)
        .values_list("codename", flat=True)
    )


def test_only_the_sites_coordinator_and_investigator_decide_and_only_the_investigator_signs():
    held = {name: page_permissions(name, SITE_PERMISSIONS) for name in SITE_EXPECTED}
    assert held == SITE_EXPECTED
    for role, name in access.ROLE_GROUPS.items():
        table = {p.split(".")[1] for p in access.ROLE_PERMISSIONS[role]} & SITE_PERMISSIONS
        assert table == SITE_EXPECTED[name], role


def test_migration_0021_grants_the_investigator_group_and_takes_it_back():
    migration = importlib.import_module("diary.migrations.0021_investigator_signatures")
    state = (
        MigrationExecutor(connection)
        .loader.project_state(("diary", "0021_investigator_signatures"))
        .apps
    )
    migration.revoke(state, None)
    assert not Group.objects.filter(name="Investigator").exists()
    assert page_permissions("Coordinator", SITE_PERMISSIONS) == set()
    migration.grant(state, None)
    held = {name: page_permissions(name, SITE_PERMISSIONS) for name in SITE_EXPECTED}
    assert held == SITE_EXPECTED
    assert page_permissions("Investigator") == EXPECTED["Investigator"]


def test_each_role_group_holds_exactly_its_page_permissions():
    """Emergency unblinding is in no role group: it is granted by name, deliberately."""
    assert {name: page_permissions(name) for name in EXPECTED} == EXPECTED
    assert set(EXPECTED) == set(access.ROLE_GROUPS.values())


def test_the_policy_table_agrees_with_the_migration():
    for role, name in access.ROLE_GROUPS.items():
        held = {p.split(".")[1] for p in access.ROLE_PERMISSIONS[role]} & PAGE_PERMISSIONS
        assert held == EXPECTED[name], role


def test_the_migration_grants_them_and_takes_them_back():
    """Unapplied, the groups hold none of them; applied again, exactly the table's. The
    migration's own forward and backward steps, run on the models as the migration sees them
    (a real migrate needs the owner role; these steps only write group permissions)."""
    migration = importlib.import_module("diary.migrations.0009_access_permissions")
    state = MigrationExecutor(connection).loader.project_state(MIGRATION).apps
    migration.revoke(state, None)
    assert {name: page_permissions(name) for name in GROUPS_0009} == {
        name: set() for name in GROUPS_0009
    }
    migration.grant(state, None)
    assert {name: page_permissions(name) for name in GROUPS_0009} == {
        name: EXPECTED[name] for name in GROUPS_0009
    }


def fresh(user):
    """The same user without the per-object caches (a new request would load her anew)."""
    return type(user).objects.get(pk=user.pk)


def revoke(group_name: str, codename: str) -> None:
    Group.objects.get(name=group_name).permissions.remove(
        Permission.objects.get(content_type__app_label="diary", codename=codename)
    )


def grant_by_name(user, *codenames: str) -> None:
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="diary", codename__in=codenames)
    )


@pytest.mark.parametrize(
    ("perm", "group", "who"),
    [
        (access.EXPORT, "Monitor", "monitor"),
        (access.AUDIT_TRAIL, "Monitor", "monitor"),
        (access.CORRECT, "Coordinator", "coordinator1"),
        (access.EXPORT_UNBLINDED, "Unblinded statistician", "statistician"),
    ],
)
def test_a_role_without_the_permission_is_refused_despite_its_membership(world, perm, group, who):
    user = getattr(world, who)
    participant = world.participant_a
    assert access.staff_can(user, perm)
    assert access.participants_where(user, perm).filter(pk=participant.pk).exists()
    revoke(group, perm.split(".")[1])
    user = fresh(user)
    assert not access.staff_can(user, perm)
    assert access.study_ids_where(user, perm) == []
    assert not access.participants_where(user, perm).exists()
    # Her membership still opens what the group still grants.
    assert access.staff_can(user, access.VIEW_PARTICIPANT)


@pytest.mark.parametrize("superuser", [False, True])
def test_a_permission_without_a_membership_opens_nothing(world, superuser):
    """Every page permission given by name, or a superuser's every permission: no study."""
    user = world.outsider
    user.is_superuser = superuser
    user.save(update_fields=["is_superuser"])
    grant_by_name(user, *PAGE_PERMISSIONS, "view_participant", "view_unblinded")
    user = fresh(user)
    for perm in (access.EXPORT, access.AUDIT_TRAIL, access.CORRECT, access.EXPORT_UNBLINDED):
        assert user.has_perm(perm)
        assert not access.staff_can(user, perm), perm
        assert not access.participants_where(user, perm).exists(), perm
    assert not access.may_correct(user, world.participant_a)
    assert not access.may_export_unblinded(user)
    assert not access.audit_events_where(user).exists()
    assert not access.may_emergency_unblind(user)
    assert not access.may_emergency_unblind(user, world.participant_a)


def test_corrections_are_for_the_coordinator_and_investigator_of_her_site(world):
    a = world.participant_a
    assert access.may_correct(world.coordinator1, a)
    assert access.may_correct(world.investigator1, a)
    assert access.may_decide_change(world.investigator1, a) and access.may_sign(
        world.investigator1, a
    )
    assert not access.may_sign(world.coordinator1, a)
    for who in ("coordinator2", "monitor", "statistician", "admin", "outsider"):
        assert not access.may_correct(getattr(world, who), a), who
        assert not access.may_decide_change(getattr(world, who), a), who
        assert not access.may_sign(getattr(world, who), a), who
    # Site 1's investigator at site 2: nothing.
    b = world.participant_b
    assert not any(
        check(world.investigator1, b)
        for check in (access.may_correct, access.may_decide_change, access.may_sign)
    )


def test_unblinded_exports_need_the_permission_and_an_unblinded_role(world):
    assert access.may_export_unblinded(world.statistician, world.study)
    # The permission given by name to a blinded coordinator shows her no arm.
    grant_by_name(world.coordinator1, "export_unblinded")
    assert not access.may_export_unblinded(fresh(world.coordinator1), world.study)
    for who in ("monitor", "admin"):
        assert not access.may_export_unblinded(getattr(world, who))


def test_emergency_unblinding_is_a_grant_by_name_and_a_membership(world):
    a, b = world.participant_a, world.participant_b
    # A superuser with a study role holds every Django permission, but no grant by name.
    assert world.admin.has_perm(access.EMERGENCY_UNBLIND)
    assert not access.may_emergency_unblind(world.admin, a)
    grant_by_name(world.coordinator1, "emergency_unblind")
    coordinator = fresh(world.coordinator1)
    assert access.may_emergency_unblind(coordinator)
    assert access.may_emergency_unblind(coordinator, a)
    assert not access.may_emergency_unblind(coordinator, b)  # not her site


def test_the_audit_trail_is_scoped_to_her_sites_and_her_studies(world):
    events = access.audit_events_where(world.coordinator1)
    assert set(
        events.exclude(participant=None).values_list("participant__subject_id", flat=True)
    ) == {"S01-001"}
    assert not access.audit_events_where(world.outsider).exists()
