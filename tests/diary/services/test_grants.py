"""Two-person grants (issue 13, item 3): nobody unblinds herself, nobody unblinds anyone alone.

A guarded right (an unblinded role, emergency unblinding) is proposed with a reason and given
only when a second person who already holds it in that study approves; the study's first
holder comes from `manage.py grant_first_holder`, naming two people. Every step is audited
and e-mailed to the study's unblinded staff.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from diary import access
from diary.models import (
    AccessGrant,
    AuditAction,
    AuditEvent,
    GrantRight,
    GrantStatus,
    StaffMembership,
    StaffRole,
)
from diary.services import grants, staff
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db

User = get_user_model()
REASON = "Named as the trial statistician in protocol section 9"


def fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.fixture
def mailed(world):
    world.statistician.email = "stat@example.org"
    world.statistician.save(update_fields=["email"])
    mail.outbox.clear()
    return world


def propose_role(world, grantee=None, actor=None):
    return grants.grant_propose(
        study=world.study,
        grantee=grantee or world.outsider,
        right=GrantRight.UNBLINDED_ROLE,
        role=StaffRole.STATISTICIAN,
        reason=REASON,
        actor=actor or world.admin,
    )


def test_an_unblinded_role_is_given_only_when_a_holder_approves(
    mailed, django_capture_on_commit_callbacks
):
    world = mailed
    with django_capture_on_commit_callbacks(execute=True):
        grant = propose_role(world)
    assert grant.status == GrantStatus.PENDING
    assert access.unblinded_study_ids(fresh(world.outsider)) == []  # nothing given yet
    proposed = AuditEvent.objects.get(action=AuditAction.GRANT_PROPOSED)
    assert proposed.reason == REASON and proposed.actor == world.admin
    assert proposed.details["grantee"] == "outsider"
    assert [m.to for m in mail.outbox] == [["stat@example.org"]]
    assert "outsider" in mail.outbox[0].subject

    with django_capture_on_commit_callbacks(execute=True):
        grants.grant_approve(grant=grant, actor=world.statistician)
    assert access.unblinded_study_ids(fresh(world.outsider)) == [world.study.pk]
    approved = AuditEvent.objects.get(action=AuditAction.GRANT_APPROVED)
    assert approved.actor == world.statistician and approved.reason == REASON
    assert approved.details["decided_by"] == "statistician"
    assert len(mail.outbox) == 2


def test_nobody_approves_a_grant_she_proposed_or_receives(world):
    grant = propose_role(world, grantee=world.coordinator1, actor=world.statistician)
    with pytest.raises(ValidationError, match="second person"):
        grants.grant_approve(grant=grant, actor=world.statistician)
    with pytest.raises(PermissionDenied):  # not a holder
        grants.grant_approve(grant=grant, actor=world.admin)
    with pytest.raises(ValidationError, match="second person"):
        grants.grant_approve(grant=grant, actor=world.coordinator1)
    assert not access.is_unblinded(fresh(world.coordinator1))
    assert AccessGrant.objects.get(pk=grant.pk).status == GrantStatus.PENDING


def test_blinded_staff_do_not_approve(world):
    grant = propose_role(world)
    for who in ("coordinator1", "monitor"):
        with pytest.raises(PermissionDenied):
            grants.grant_approve(grant=grant, actor=getattr(world, who))
    assert not access.is_unblinded(fresh(world.outsider))


def test_nobody_proposes_a_right_for_herself(world):
    with pytest.raises(ValidationError, match="Nobody grants herself"):
        propose_role(world, grantee=world.admin, actor=world.admin)
    with pytest.raises(PermissionDenied):  # a blinded coordinator proposes nothing
        propose_role(world, actor=world.coordinator1)
    assert not AccessGrant.objects.exists()


def test_the_database_refuses_a_grant_decided_by_its_grantee(world):
    with transaction.atomic(), pytest.raises(IntegrityError, match="grant_decided_by_a_second"):
        AccessGrant.objects.create(
            study=world.study,
            grantee=world.outsider,
            right=GrantRight.UNBLINDED_ROLE,
            role=StaffRole.STATISTICIAN,
            reason=REASON,
            proposed_by=world.admin,
            proposed_at=timezone.now(),
            decided_by=world.outsider,
            decided_at=timezone.now(),
            status=GrantStatus.APPROVED,
        )


def test_a_rejected_grant_gives_nothing(world):
    grant = propose_role(world)
    grants.grant_reject(grant=grant, actor=world.statistician, reason="Not on the delegation log")
    assert AccessGrant.objects.get(pk=grant.pk).status == GrantStatus.REJECTED
    assert AuditEvent.objects.filter(action=AuditAction.GRANT_REJECTED).count() == 1
    with pytest.raises(ValidationError, match="already rejected"):
        grants.grant_approve(grant=grant, actor=world.statistician)
    assert not access.is_unblinded(fresh(world.outsider))


def test_the_membership_service_refuses_an_unblinded_role_and_her_own_membership(world):
    """The depth where the admin's refusal lives: any caller of staff_membership_save."""
    with pytest.raises(ValidationError, match="grant request"):
        staff.staff_membership_save(
            membership=StaffMembership(user=world.outsider, study=world.study, role="statistician"),
            actor=world.admin,
        )
    own = StaffMembership.objects.get(user=world.admin)
    own.role = StaffRole.MONITOR
    with pytest.raises(ValidationError, match="your own memberships"):
        staff.staff_membership_save(membership=own, actor=world.admin)
    # Moving an unblinded membership to another site is a new grant, too.
    theirs = StaffMembership.objects.get(user=world.statistician)
    theirs.site = world.site1
    with pytest.raises(ValidationError, match="grant request"):
        staff.staff_membership_save(membership=theirs, actor=world.admin)
    # Taking an unblinded role away needs no second person.
    theirs = StaffMembership.objects.get(user=world.statistician)
    theirs.role = StaffRole.MONITOR
    staff.staff_membership_save(membership=theirs, actor=world.admin)
    assert not access.is_unblinded(fresh(world.statistician))


# --- Emergency unblinding ----------------------------------------------------------------------
def test_emergency_unblinding_needs_a_holder_and_then_works(world):
    a = world.participant_a
    grant = grants.grant_propose(
        study=world.study,
        site=world.site1,
        grantee=world.coordinator1,
        right=GrantRight.EMERGENCY_UNBLIND,
        reason="Principal investigator of site S01, on call",
        actor=world.admin,
    )
    # Being unblinded is not holding the emergency right.
    with pytest.raises(PermissionDenied):
        grants.grant_approve(grant=grant, actor=world.statistician)
    holder = make_staff("pi2")
    StaffMembership.objects.create(user=holder, study=world.study, role=StaffRole.COORDINATOR)
    staff.staff_groups_sync(user=holder)
    call_command(
        "grant_first_holder",
        "--study", world.study.code, "--grantee", "pi2", "--emergency",
        "--proposed-by", "admin", "--approved-by", "statistician",
        "--reason", "Sponsor's medical monitor, named in the protocol",
    )  # fmt: skip
    grants.grant_approve(grant=grant, actor=fresh(holder))
    coordinator = fresh(world.coordinator1)
    assert access.may_emergency_unblind(coordinator, a)
    assert not access.may_emergency_unblind(coordinator, world.participant_b)


def test_emergency_unblinding_needs_a_membership_covering_the_sites(world):
    with pytest.raises(ValidationError, match="membership covering"):
        grants.grant_propose(
            study=world.study,
            grantee=world.coordinator1,  # site S01 only, asked for every site
            right=GrantRight.EMERGENCY_UNBLIND,
            reason="Principal investigator, on call",
            actor=world.admin,
        )


# --- The first holder: two named people --------------------------------------------------------
def first_holder(*args: str) -> None:
    call_command("grant_first_holder", "--study", "TEST-1", *args)


def test_the_first_holder_needs_two_different_people_other_than_her(world):
    StaffMembership.objects.filter(user=world.statistician).update(role=StaffRole.MONITOR)
    person = ("--grantee", "outsider", "--role", "statistician", "--reason", REASON)
    with pytest.raises(CommandError, match="Two different people"):
        first_holder(*person, "--proposed-by", "admin", "--approved-by", "admin")
    with pytest.raises(CommandError, match="Nobody grants herself"):
        first_holder(*person, "--proposed-by", "outsider", "--approved-by", "admin")
    with pytest.raises(CommandError, match="No user"):
        first_holder(*person, "--proposed-by", "nobody", "--approved-by", "admin")
    first_holder(*person, "--proposed-by", "admin", "--approved-by", "monitor")
    assert access.unblinded_study_ids(fresh(world.outsider)) == [world.study.pk]
    grant = AccessGrant.objects.get()
    assert grant.bootstrap and (grant.proposed_by, grant.decided_by) == (world.admin, world.monitor)
    events = AuditEvent.objects.filter(action__startswith="grant_").order_by("pk")
    assert [(e.action, e.actor.username) for e in events] == [
        ("grant_proposed", "admin"),
        ("grant_approved", "monitor"),
    ]
    assert all(e.details["first_holder"] and e.reason == REASON for e in events)


def test_the_first_holder_command_refuses_once_the_study_has_one(world):
    with pytest.raises(CommandError, match="already has a holder"):
        first_holder(
            "--grantee", "outsider", "--role", "statistician", "--reason", REASON,
            "--proposed-by", "admin", "--approved-by", "monitor",
        )  # fmt: skip
    assert not access.is_unblinded(fresh(world.outsider))


# --- In the admin ------------------------------------------------------------------------------
def test_the_admin_proposes_and_a_holder_approves_in_the_admin(client, world):
    client.force_login(world.admin)
    data = {
        "study": world.study.pk,
        "grantee": world.outsider.pk,
        "right": GrantRight.UNBLINDED_ROLE,
        "role": StaffRole.STATISTICIAN,
        "reason": REASON,
    }
    # For herself: refused in the form, nothing stored.
    response = client.post(
        reverse("admin:diary_accessgrant_add"), {**data, "grantee": world.admin.pk}
    )
    assert response.status_code == 200 and not AccessGrant.objects.exists()
    assert client.post(reverse("admin:diary_accessgrant_add"), data).status_code == 302
    grant = AccessGrant.objects.get()
    changelist = reverse("admin:diary_accessgrant_changelist")
    # She cannot approve her own proposal (nor is she a holder).
    client.post(changelist, {"action": "approve", "_selected_action": [grant.pk]})
    assert AccessGrant.objects.get().status == GrantStatus.PENDING
    client.force_login(world.statistician)
    response = client.post(
        changelist, {"action": "approve", "_selected_action": [grant.pk]}, follow=True
    )
    assert "approved and granted" in response.content.decode()
    assert access.is_unblinded(fresh(world.outsider), world.study)


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "outsider"])
def test_blinded_staff_find_no_grant_requests(client, world, who):
    propose_role(world)
    client.force_login(getattr(world, who))
    assert client.get(reverse("admin:diary_accessgrant_changelist")).status_code == 404
    assert client.get(reverse("admin:diary_accessgrant_add")).status_code == 404
