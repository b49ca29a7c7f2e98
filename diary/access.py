"""The one read-only access policy: who may see and do what, where.

Every view, admin page, admin action, export and command asks this module. A staff user may
act only when BOTH hold:
- Django says she has the permission (through the group of her role), and
- one of her StaffMemberships covers the study and site, with a role that grants it.

The second condition is why `is_superuser` alone opens no clinical data: a superuser has every
Django permission, but without a study role no membership covers anything. Staff roles are
Django groups (ROLE_GROUPS); the services that change memberships live in
diary.services.staff. Nothing here writes.

Callers answer a refusal the same way everywhere: a page or object the user may not open does
not exist for her (404; see README, "Access and refusals").
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Permission
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from diary.models import (
    UNBLINDED_ACTIONS,
    AuditEvent,
    Participant,
    ParticipantStatus,
    StaffMembership,
    StaffRole,
    Study,
)

AnyUser = AbstractBaseUser | AnonymousUser

# The permissions the pages ask for by name.
VIEW_PARTICIPANT = "diary.view_participant"  # her record, and the compliance dashboard
VIEW_UNBLINDED = "diary.view_unblinded"  # allocation, treatments, the per-arm summary
EXPORT = "diary.export_data"  # blinded exports (admin page and `manage.py export`)
EXPORT_UNBLINDED = "diary.export_unblinded"
AUDIT_TRAIL = "diary.view_audit_trail"  # a participant's timeline and the audit CSV
CORRECT = "diary.correct_response"  # corrections and paper questionnaires
# Data-quality signals: everyone reads them (blinded by construction: nothing in them comes
# from the allocation); monitors review them and raise and close queries; the site's
# coordinator answers; the study admin sets the thresholds.
SIGNALS = "diary.view_signals"
REVIEW_SIGNALS = "diary.review_signals"
ANSWER_QUERY = "diary.answer_query"
SIGNAL_SETTINGS = "diary.change_studysignalsettings"
# Held by no role group: given by name, deliberately, to a user (or to a group made for it).
EMERGENCY_UNBLIND = "diary.emergency_unblind"

# Group name of each role. The data migrations 0007 and 0009 give these groups the same
# permissions (each keeps its own frozen copy, as migrations must).
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
    VIEW_PARTICIPANT,
    "diary.view_menstrualperiod",
    "diary.view_assessment",
    "diary.view_response",
    "diary.view_auditevent",
    "diary.view_reminderlog",
]
# The study pages every role opens: blinded exports and the audit trail.
STUDY_PAGES = [EXPORT, AUDIT_TRAIL, SIGNALS, "diary.view_studysignalsettings"]
# Participant management at a site.
SITE_ACTIONS = [
    "diary.enrol_participant",
    "diary.invite_participant",
    "diary.withdraw_participant",
    "diary.excuse_assessment",
]
UNBLINDED = [
    VIEW_UNBLINDED,
    "diary.view_treatment",
    "diary.view_sequence",
    "diary.view_sequenceblock",
    "diary.view_allocation",
    "diary.view_allocationlist",
    "diary.view_allocationslot",
    "diary.add_allocationlist",
    "diary.randomize_participant",
    EXPORT_UNBLINDED,
]

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    StaffRole.MONITOR: frozenset([*BLINDED_VIEW, *STUDY_PAGES, REVIEW_SIGNALS]),
    # Only the site's coordinator reads a participant's e-mail address (to contact her) and
    # corrects her answers or enters her paper questionnaires.
    StaffRole.COORDINATOR: frozenset(
        [
            *BLINDED_VIEW,
            *STUDY_PAGES,
            *SITE_ACTIONS,
            "diary.view_participantcontact",
            CORRECT,
            ANSWER_QUERY,
        ]
    ),
    StaffRole.ADMIN: frozenset([*BLINDED_VIEW, *STUDY_PAGES, *SITE_ACTIONS, SIGNAL_SETTINGS]),
    StaffRole.STATISTICIAN: frozenset([*BLINDED_VIEW, *STUDY_PAGES, *UNBLINDED]),
}
# The roles that see allocation: those whose group holds diary.view_unblinded.
UNBLINDED_ROLES = frozenset(
    role for role, perms in ROLE_PERMISSIONS.items() if VIEW_UNBLINDED in perms
)


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


def staff_can(
    user: AnyUser, perm: str, *, study_id: int | None = None, site_id: int | None = None
) -> bool:
    """True when the user holds `perm` for that study and site; for anything at all when no
    study is named. A study without a site asks for every site of it (an all-sites
    membership)."""
    return any(
        study_id is None or (m_study == study_id and (m_site is None or m_site == site_id))
        for m_study, m_site, _ in _granting(user, perm)
    )


def study_ids_where(user: AnyUser, perm: str) -> list[int]:
    """The studies in which the user holds `perm` at one site at least."""
    return sorted({study for study, _, _ in _granting(user, perm)})


def participants_where(user: AnyUser, perm: str) -> QuerySet[Participant]:
    """Participants at the studies and sites where the user holds `perm`."""
    scope = Q()
    found = False
    for study_id, site_id, _ in _granting(user, perm):
        found = True
        scope |= Q(study_id=study_id) if site_id is None else Q(study_id=study_id, site_id=site_id)
    return Participant.objects.filter(scope) if found else Participant.objects.none()


def participants_visible_to(user: AnyUser) -> QuerySet[Participant]:
    """Participants whose records the staff user may read: the view permission of her role
    AND a membership covering the participant's study and site (all sites when site is empty).
    """
    return participants_where(user, VIEW_PARTICIPANT)


def unblinded_study_ids(user: AnyUser) -> list[int]:
    """Studies in which the user is unblinded: diary.view_unblinded and an unblinded role
    there (only those roles' groups hold it)."""
    return study_ids_where(user, VIEW_UNBLINDED)


def is_unblinded(user: AnyUser, study: Study | None = None) -> bool:
    """True when the user is unblinded (in `study`, or in any study when None): an unblinded
    role there AND the diary.view_unblinded permission."""
    ids = unblinded_study_ids(user)
    return bool(ids) if study is None else study.pk in ids


def unblinded_memberships(study: Study) -> QuerySet[StaffMembership]:
    """The study's unblinded staff (for example, to be told of an emergency unblinding)."""
    return study.memberships.filter(role__in=UNBLINDED_ROLES)


def may_export_unblinded(user: AnyUser, study: Study | None = None) -> bool:
    """Unblinded exports (of `study`, or of any study when None): the export permission AND
    being unblinded there; the first without the second never shows an arm."""
    ids = set(study_ids_where(user, EXPORT_UNBLINDED)) & set(unblinded_study_ids(user))
    return bool(ids) if study is None else study.pk in ids


def may_correct(user: AnyUser, participant: Participant) -> bool:
    """Corrections and paper questionnaires: the permission at the participant's site."""
    return staff_can(user, CORRECT, study_id=participant.study_id, site_id=participant.site_id)


def audit_events_where(user: AnyUser, perm: str = AUDIT_TRAIL) -> QuerySet[AuditEvent]:
    """The audit trail as this user may read it with `perm`: the events of the participants
    in her scope and the study-level ones (no participant) of her studies. Events about the
    allocation list, an unblinding or the unblinded summary only where she is unblinded:
    elsewhere not even their timing reaches her."""
    events = AuditEvent.objects.filter(
        Q(participant__in=participants_where(user, perm).values("pk"))
        | Q(participant__isnull=True, study__in=study_ids_where(user, perm))
    )
    return events.exclude(Q(action__in=UNBLINDED_ACTIONS) & ~Q(study__in=unblinded_study_ids(user)))


def has_granted_permission(user: AnyUser, codename: str, app_label: str = "diary") -> bool:
    """A permission given to this user or her groups by name; superuser status does not count.

    For rights that must be granted deliberately, such as emergency unblinding. Read once per
    user object (so once per request: the admin index asks too).
    """
    if not user.is_authenticated or not user.is_active:
        return False
    cache = getattr(user, "_diary_granted", None)
    if cache is None:
        cache = {}
        user._diary_granted = cache  # type: ignore[union-attr]
    key = f"{app_label}.{codename}"
    if key not in cache:
        cache[key] = (
            Permission.objects.filter(codename=codename, content_type__app_label=app_label)
            .filter(Q(user=user) | Q(group__user=user))
            .exists()
        )
    return cache[key]


def may_emergency_unblind(user: AnyUser, participant: Participant | None = None) -> bool:
    """Emergency unblinding of `participant` (of someone, when None): diary.emergency_unblind
    granted by name (no role group holds it by default; superuser status never counts) AND, as for
    every permission, a membership that lets her read the participant's record."""
    if participant is None:
        covered = staff_can(user, VIEW_PARTICIPANT)
    else:
        covered = staff_can(
            user, VIEW_PARTICIPANT, study_id=participant.study_id, site_id=participant.site_id
        )
    # The grant's own query runs only for those Django and a membership already let through.
    return (
        covered
        and user.has_perm(EMERGENCY_UNBLIND)
        and has_granted_permission(user, "emergency_unblind")
    )


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
