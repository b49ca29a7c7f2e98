"""The one read-only access policy: who may see and do what, where.

Every view, admin page, export and command asks this module. A staff user may act only when
BOTH hold:
- Django says she has the permission (through the group of her role), and
- one of her StaffMemberships covers the study and site, with a role that grants it.

The second condition is why `is_superuser` alone opens no clinical data: a superuser has every
Django permission, but without a study role no membership covers anything. Staff roles are
Django groups (ROLE_GROUPS); the services that change memberships live in
diary.services.staff. Nothing here writes.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Permission
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from diary.models import (
    UNBLINDED_ROLES,
    Participant,
    ParticipantStatus,
    StaffMembership,
    StaffRole,
    Study,
)

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


def memberships_of(user: AnyUser) -> QuerySet[StaffMembership]:
    if not user.is_authenticated or not user.is_active:
        return StaffMembership.objects.none()
    return StaffMembership.objects.filter(user=user)


def studies_of(user: AnyUser) -> QuerySet[Study]:
    return Study.objects.filter(memberships__in=memberships_of(user)).distinct()


def participants_visible_to(user: AnyUser) -> QuerySet[Participant]:
    """Participants whose records the staff user may read: the view permission of her role
    AND a membership covering the participant's study and site (all sites when site is empty).
    """
    return participants_where(user, "diary.view_participant")


def is_unblinded(user: AnyUser, study: Study | None = None) -> bool:
    """True when the user is unblinded (in `study`, or in any study when None): an unblinded
    role there AND the diary.view_unblinded permission."""
    ids = unblinded_study_ids(user)
    return bool(ids) if study is None else study.pk in ids


def participant_of(user: AnyUser) -> Participant | None:
    """The participant record of a logged-in participant, if she may use the diary."""
    if not user.is_authenticated or not user.is_active:
        return None
    try:
        participant = user.participant  # type: ignore[union-attr]
    except Participant.DoesNotExist:
        return None
    if participant.status == ParticipantStatus.WITHDRAWN:
        return None
    return participant


def participant_required(request: HttpRequest) -> Participant:
    participant = participant_of(request.user)
    if participant is None:
        # Staff and strangers get no hint that a diary exists for this account.
        raise Http404("No diary for this account.")
    return participant


def has_granted_permission(user: AnyUser, codename: str, app_label: str = "diary") -> bool:
    """A permission given to this user or her groups by name; superuser status does not count.

    For rights that must be granted deliberately, such as emergency unblinding.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        Permission.objects.filter(codename=codename, content_type__app_label=app_label)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )
