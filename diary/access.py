"""Who may see what. Every view, admin page and export asks these helpers."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from diary.models import (
    Participant,
    ParticipantStatus,
    StaffMembership,
    Study,
)

AnyUser = AbstractBaseUser | AnonymousUser


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
    from diary import roles

    return roles.participants_where(user, "diary.view_participant")


def is_unblinded(user: AnyUser, study: Study | None = None) -> bool:
    """True when the user is unblinded (in `study`, or in any study when None): an unblinded
    role there AND the diary.view_unblinded permission."""
    from diary import roles

    ids = roles.unblinded_study_ids(user)
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


def has_granted_permission(user: AnyUser, codename: str, app_label: str = "diary") -> bool:
    """A permission given to this user or her groups by name; superuser status does not count.

    For rights that must be granted deliberately, such as emergency unblinding.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    from django.contrib.auth.models import Permission

    return (
        Permission.objects.filter(codename=codename, content_type__app_label=app_label)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )
