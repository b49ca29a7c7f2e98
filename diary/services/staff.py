"""Staff memberships and their role groups: the writes behind the access policy.

Nobody changes her own memberships, and nobody gives an unblinded role on her own: a
membership that would carry an unblinded role its user did not already hold at that scope is
refused here, whatever calls it (the admin, a shell, a future page). Such a role is granted
only by a second person who holds it (diary.services.grants, which writes it through
`staff_membership_write`).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction

from diary.access import ROLE_GROUPS, ROLE_PERMISSIONS, UNBLINDED_ROLES
from diary.models import AuditAction, StaffMembership, StaffRole
from diary.services.audit import audit_record

OWN_MEMBERSHIP = "You cannot change your own memberships: another administrator does."
UNBLINDED_BY_GRANT = (
    "An unblinded role is given only through a grant request (Access grants), approved by a "
    "second person who already holds it in this study."
)
USER_FIXED = "A membership stays with its user: add one for the other user instead."
INVESTIGATOR_PER_SITE = "An investigator is the investigator of one site: choose the site."


@transaction.atomic
def role_groups_ensure(*, using: str = "default", **_: object) -> None:
    """post_migrate: every role group exists and holds exactly its role's permissions from the
    access policy's table (diary.access.ROLE_PERMISSIONS), whatever happened to the groups
    since (a database emptied by the test suite's flush, which migrations do not re-run, or a
    permission added to the table after the data migrations). Emergency unblinding is in no
    role's table: it stays a person's two-person grant."""
    by_name = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.using(using).select_related("content_type")
    }
    for role, group_name in ROLE_GROUPS.items():
        wanted = [
            by_name[tuple(perm.split(".", 1))]
            for perm in sorted(ROLE_PERMISSIONS[role])
            if tuple(perm.split(".", 1)) in by_name
        ]
        group, _created = Group.objects.using(using).get_or_create(name=group_name)
        if set(group.permissions.values_list("pk", flat=True)) != {p.pk for p in wanted}:
            group.permissions.set(wanted)


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
    user_caches_clear(user)


def user_caches_clear(user: AbstractBaseUser) -> None:
    """Django's and the access policy's per-object caches would answer with the old rights."""
    for attr in (
        "_diary_memberships",
        "_diary_granted",
        "_perm_cache",
        "_user_perm_cache",
        "_group_perm_cache",
    ):
        user.__dict__.pop(attr, None)


def staff_membership_check(*, membership: StaffMembership, actor: AbstractBaseUser) -> None:
    """Raise ValidationError when `actor` may not save `membership` as it now is: her own
    membership (before or after), a change of its user, or an unblinded role its user did not
    already hold at exactly this study and site."""
    before = StaffMembership.objects.filter(pk=membership.pk).first() if membership.pk else None
    if actor.pk in {membership.user_id, before.user_id if before else None}:
        raise ValidationError(OWN_MEMBERSHIP)
    if before is not None and before.user_id != membership.user_id:
        raise ValidationError({"user": USER_FIXED})
    if membership.role == StaffRole.INVESTIGATOR and membership.site_id is None:
        raise ValidationError({"site": INVESTIGATOR_PER_SITE})
    if membership.role in UNBLINDED_ROLES and not (
        before is not None
        and before.role == membership.role
        and (before.study_id, before.site_id) == (membership.study_id, membership.site_id)
    ):
        raise ValidationError({"role": UNBLINDED_BY_GRANT})


@transaction.atomic
def staff_membership_save(
    *, membership: StaffMembership, actor: AbstractBaseUser
) -> StaffMembership:
    """Create or change a membership (staff_membership_check decides whether `actor` may),
    keep the user's role groups in step, and audit it."""
    staff_membership_check(membership=membership, actor=actor)
    return staff_membership_write(membership=membership, actor=actor)


def staff_membership_write(
    *, membership: StaffMembership, actor: AbstractBaseUser | None, reason: str = ""
) -> StaffMembership:
    """Save, sync the role groups, audit. Unchecked: for staff_membership_save, and for a
    two-person grant (diary.services.grants) that has checked its own rules."""
    membership.full_clean()
    membership.save()
    staff_groups_sync(user=membership.user)
    audit_record(
        action=AuditAction.STUDY_CHANGED,
        actor=actor,
        study=membership.study,
        obj=membership,
        reason=reason,
        details={
            "membership": membership.pk,
            "user": membership.user.get_username(),
            "role": membership.role,
            "site": membership.site.code if membership.site else "all sites",
        },
    )
    return membership
