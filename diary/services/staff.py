"""Staff memberships and their role groups: the writes behind the access policy."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from diary.access import ROLE_GROUPS, UNBLINDED_ROLES
from diary.models import AuditAction, StaffMembership
from diary.services.audit import audit_record


@transaction.atomic
def staff_groups_sync(*, user: AbstractBaseUser) -> None:
    """Make the user's role groups match the roles of her memberships.

    Groups that are not role groups are left alone. Call after creating or removing a
    membership.
    """
    roles = set(StaffMembership.objects.filter(user=user).values_list("role", flat=True))
    wanted = {ROLE_GROUPS[role] for role in roles if role in ROLE_GROUPS}
    groups = Group.objects.filter(name__in=ROLE_GROUPS.values())
    user.groups.remove(*[g for g in groups if g.name not in wanted])  # type: ignore[attr-defined]
    user.groups.add(*[g for g in groups if g.name in wanted])  # type: ignore[attr-defined]
    # Django's and our per-object caches would otherwise answer with the old roles.
    for attr in (
        "_diary_memberships",
        "_diary_granted",
        "_perm_cache",
        "_user_perm_cache",
        "_group_perm_cache",
    ):
        user.__dict__.pop(attr, None)


@transaction.atomic
def staff_membership_save(
    *, membership: StaffMembership, actor: AbstractBaseUser
) -> StaffMembership:
    """Create or change a membership, keep the role groups of the user (and of a previous
    user) in step, and audit it: granting an unblinded role is a deliberate, recorded act."""
    previous_user_id = (
        StaffMembership.objects.filter(pk=membership.pk).values_list("user_id", flat=True).first()
    )
    membership.full_clean()
    membership.save()
    staff_groups_sync(user=membership.user)
    if previous_user_id and previous_user_id != membership.user_id:
        staff_groups_sync(user=type(membership.user).objects.get(pk=previous_user_id))
    unblinded = membership.role in UNBLINDED_ROLES
    audit_record(
        action=AuditAction.STUDY_CHANGED,
        actor=actor,
        study=membership.study,
        obj=membership,
        reason="unblinded role granted" if unblinded else "",
        details={
            "membership": membership.pk,
            "user": membership.user.get_username(),
            "role": membership.role,
            "site": membership.site.code if membership.site else "all sites",
        },
    )
    return membership
