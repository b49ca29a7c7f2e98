"""Staff roles as Django groups, and the one question every admin page asks: may this user do
this, here?

A staff user may act only when BOTH hold:
- Django says she has the permission (through the group of her role), and
- one of her StaffMemberships covers the study and site, with a role that grants it.

The second condition is why `is_superuser` alone opens no clinical data: a superuser has every
Django permission, but without a study role no membership covers anything.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db import transaction
from django.db.models import Q, QuerySet

from diary.models import UNBLINDED_ROLES, AuditAction, Participant, StaffMembership, StaffRole
from diary.services.audit import audit_record

AnyUser = AbstractBaseUser | AnonymousUser

# Group name of each role. The data migration 0004 creates these groups with the same
# permissions (it keeps its own frozen copy, as migrations must).
ROLE_GROUPS: dict[str, str] = {
    StaffRole.COORDINATOR: "Coordinator",
    StaffRole.MONITOR: "Monitor",
    StaffRole.STATISTICIAN: "Unblinded statistician",
    StaffRole.ADMIN: "Study admin",
}

# Read access to the blinded clinical record: every role has it.
BLINDED_VIEW = [
    "diary.view_study",
    "diary.view_site",
    "diary.view_participant",
    "diary.view_menstrualperiod",
    "diary.view_assessment",
    "diary.view_response",
    "diary.view_auditevent",
    "diary.view_reminderlog",
]
# Participant management at a site.
SITE_ACTIONS = [
    "diary.enrol_participant",
    "diary.invite_participant",
    "diary.withdraw_participant",
    "diary.excuse_assessment",
]
UNBLINDED = [
    "diary.view_unblinded",
    "diary.view_treatment",
    "diary.view_sequence",
    "diary.view_sequenceblock",
    "diary.view_allocation",
    "diary.view_allocationlist",
    "diary.view_allocationslot",
    "diary.add_allocationlist",
    "diary.randomize_participant",
]

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    StaffRole.MONITOR: frozenset(BLINDED_VIEW),
    # Only the site's coordinator reads a participant's e-mail address (to contact her).
    StaffRole.COORDINATOR: frozenset(
        [*BLINDED_VIEW, *SITE_ACTIONS, "diary.view_participantcontact"]
    ),
    StaffRole.ADMIN: frozenset([*BLINDED_VIEW, *SITE_ACTIONS]),
    StaffRole.STATISTICIAN: frozenset([*BLINDED_VIEW, *UNBLINDED]),
}


def _roles_granting(perm: str) -> list[str]:
    return [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]


def _memberships(user: AnyUser) -> list[tuple[int, int | None, str]]:
    """(study_id, site_id, role) of the user's memberships, read once per user object (so
    once per request: an admin page asks many times)."""
    cached = getattr(user, "_diary_memberships", None)
    if cached is None:
        cached = list(
            StaffMembership.objects.filter(user=user).values_list("study_id", "site_id", "role")
        )
        user._diary_memberships = cached  # type: ignore[union-attr]
    return cached


def roles_held(user: AnyUser) -> set[str]:
    """The study roles the user holds anywhere (from the per-request membership cache)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return set()
    return {role for _, _, role in _memberships(user)}


def _granting(user: AnyUser, perm: str) -> list[tuple[int, int | None, str]]:
    if not (user.is_authenticated and user.is_active and user.is_staff and user.has_perm(perm)):
        return []
    roles = _roles_granting(perm)
    return [m for m in _memberships(user) if m[2] in roles]


def memberships_granting(user: AnyUser, perm: str) -> QuerySet[StaffMembership]:
    """The user's memberships whose role grants `perm`; none unless Django grants it too."""
    if not _granting(user, perm):
        return StaffMembership.objects.none()
    return StaffMembership.objects.filter(user=user, role__in=_roles_granting(perm))


def staff_can(user: AnyUser, perm: str, *, study_id: int | None = None, site_id=None) -> bool:
    """True when the user holds `perm` for that study and site (any study/site when omitted)."""
    return any(
        study_id is None or (m_study == study_id and (m_site is None or m_site == site_id))
        for m_study, m_site, _ in _granting(user, perm)
    )


def participants_where(user: AnyUser, perm: str) -> QuerySet[Participant]:
    """Participants at the studies and sites where the user holds `perm`."""
    scope = Q()
    found = False
    for study_id, site_id, _ in _granting(user, perm):
        found = True
        scope |= Q(study_id=study_id) if site_id is None else Q(study_id=study_id, site_id=site_id)
    return Participant.objects.filter(scope) if found else Participant.objects.none()


def unblinded_study_ids(user: AnyUser) -> list[int]:
    """Studies in which the user is unblinded: the permission and an unblinded role there."""
    return sorted(
        {
            study
            for study, _, role in _granting(user, "diary.view_unblinded")
            if role in UNBLINDED_ROLES
        }
    )


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
    for attr in ("_diary_memberships", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
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
