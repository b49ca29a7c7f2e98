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
    AccessGrant,
    AuditAction,
    AuditEvent,
    GrantRight,
    Participant,
    ParticipantStatus,
    Site,
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
# The system audit view (events of no study: staff logins, failed logins, lockouts, audit-trail
# downloads). Held by no role group: superusers have it, anyone else is given it by name.
SYSTEM_AUDIT = "diary.view_system_audit"
CORRECT = "diary.correct_response"  # corrections and paper questionnaires
# Data-quality signals: everyone reads them (blinded by construction: nothing in them comes
# from the allocation); monitors review them and raise and close queries; the site's
# coordinator answers; the study admin sets the thresholds.
SIGNALS = "diary.view_signals"
REVIEW_SIGNALS = "diary.review_signals"
ANSWER_QUERY = "diary.answer_query"
REVIEW_LATE_ENTRY = "diary.review_lateentry"  # accept or decline a late entry
SIGNAL_SETTINGS = "diary.change_studysignalsettings"
# A participant's request to change an answer: the site's coordinator or investigator
# decides it, accepting it through a correction (so CORRECT as well); the sponsor's side reads.
DECIDE_CHANGE = "diary.decide_change_request"
# The investigator's electronic signature of a participant's casebook.
SIGN_CASEBOOK = "diary.sign_casebook"
# The study lock: the unblinded data manager proposes and a second one confirms.
LOCK_STUDY = "diary.lock_study"
# The site's own copy (casebooks, CSV, manifest): held by the site's coordinator and its
# investigator. Blinded by construction.
SITE_COPY = "diary.site_copy"
# Held by no role group: given by name, deliberately, to a user (or to a group made for it).
EMERGENCY_UNBLIND = "diary.emergency_unblind"

# Group name of each role. The data migrations 0007 and 0009 give these groups the same
# permissions (each keeps its own frozen copy, as migrations must).
ROLE_GROUPS: dict[str, str] = {
    StaffRole.COORDINATOR: "Coordinator",
    StaffRole.MONITOR: "Monitor",
    StaffRole.STATISTICIAN: "Unblinded statistician",
    StaffRole.ADMIN: "Study admin",
    StaffRole.INVESTIGATOR: "Investigator",
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
    "diary.view_datachangerequest",
    "diary.view_casebooksignature",
    "diary.view_lateentry",
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
            DECIDE_CHANGE,
            ANSWER_QUERY,
            SITE_COPY,
            REVIEW_LATE_ENTRY,
        ]
    ),
    # The site's principal investigator: reads her site's record and its trail (blinded),
    # decides change requests (entering the correction), signs casebooks. No contact
    # details, no enrolment or withdrawal (the coordinator's).
    StaffRole.INVESTIGATOR: frozenset(
        [*BLINDED_VIEW, *STUDY_PAGES, CORRECT, DECIDE_CHANGE, SIGN_CASEBOOK, SITE_COPY]
    ),
    StaffRole.ADMIN: frozenset([*BLINDED_VIEW, *STUDY_PAGES, *SITE_ACTIONS, SIGNAL_SETTINGS]),
    StaffRole.STATISTICIAN: frozenset([*BLINDED_VIEW, *STUDY_PAGES, *UNBLINDED, LOCK_STUDY]),
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


def may_lock_study(user: AnyUser, study: Study) -> bool:
    """Propose, confirm or reject a change of the study's lock: diary.lock_study through an
    all-sites membership whose role grants it (the unblinded data manager's), and unblinded
    there: the lock ends the blinded phase of data management."""
    return staff_can(user, LOCK_STUDY, study_id=study.pk) and is_unblinded(user, study)


def lock_study_ids(user: AnyUser) -> list[int]:
    """The studies whose lock she manages (the study lock page lists them)."""
    unblinded = unblinded_study_ids(user)
    return sorted(
        {study for study, site, _ in _granting(user, LOCK_STUDY) if site is None}
        & set(unblinded)
    )


def may_site_copy(user: AnyUser, site: Site) -> bool:
    """Generate and download the site's own copy: diary.site_copy at that site."""
    return staff_can(user, SITE_COPY, study_id=site.study_id, site_id=site.pk)


def may_site_copy_somewhere(user: AnyUser) -> bool:
    """She holds diary.site_copy at one site at least (the admin index asks; no query beyond
    her memberships, read once per request)."""
    return bool(_granting(user, SITE_COPY))


def site_copy_sites(user: AnyUser) -> QuerySet[Site]:
    """The sites whose own copy she generates and downloads (every site of a study for an
    all-sites membership)."""
    scope = Q()
    found = False
    for study_id, site_id, _ in _granting(user, SITE_COPY):
        found = True
        scope |= Q(study_id=study_id) if site_id is None else Q(pk=site_id)
    return Site.objects.filter(scope).select_related("study") if found else Site.objects.none()


def may_correct(user: AnyUser, participant: Participant) -> bool:
    """Corrections and paper questionnaires: the permission at the participant's site."""
    return staff_can(user, CORRECT, study_id=participant.study_id, site_id=participant.site_id)


def may_decide_change(user: AnyUser, participant: Participant) -> bool:
    """Accept or decline her change requests: the permission at her site, and the right to
    correct there (an accepted request is a correction)."""
    where = {"study_id": participant.study_id, "site_id": participant.site_id}
    return staff_can(user, DECIDE_CHANGE, **where) and staff_can(user, CORRECT, **where)


def may_sign(user: AnyUser, participant: Participant) -> bool:
    """Sign her casebook: the investigator's permission at her site."""
    return staff_can(
        user, SIGN_CASEBOOK, study_id=participant.study_id, site_id=participant.site_id
    )


def may_review_late_entry(user: AnyUser, participant: Participant) -> bool:
    """Accepting or declining her late entry: the permission at the participant's site."""
    return staff_can(
        user, REVIEW_LATE_ENTRY, study_id=participant.study_id, site_id=participant.site_id
    )


# --- Who reads an audit event -------------------------------------------------------------------
# An audit event is blinded or unblinded, and that is decided where it is written: the audit
# writer (diary.services.audit) stamps AuditEvent.unblinded from this table, and every reader
# of the trail filters on the column (audit_events_where, system_audit_events_where). The
# principle: an event is unblinded when it concerns the allocation or when anything in it was
# computed from unblinded content. An unblinded export's hash, byte and row counts are such
# content: its file is the blinded one plus the sequence and treatment columns, so a blinded
# reader who knows the blinded file can rebuild every candidate allocation and match the hash.
AUDIT_BLINDED = "blinded"  # nothing in it depends on the allocation
AUDIT_UNBLINDED = "unblinded"  # always: it concerns the allocation itself
AUDIT_DECLARED = "declared"  # the writer must say, from what the event was computed from
AUDIT_ACTION_BLINDING: dict[str, str] = {
    AuditAction.LOGIN: AUDIT_BLINDED,
    AuditAction.LOGOUT: AUDIT_BLINDED,
    AuditAction.LOGIN_FAILED: AUDIT_BLINDED,
    AuditAction.LOCKOUT: AUDIT_BLINDED,
    AuditAction.INVITATION_SENT: AUDIT_BLINDED,
    AuditAction.INVITATION_USED: AUDIT_BLINDED,
    AuditAction.PASSWORD_RESET: AUDIT_BLINDED,
    AuditAction.PASSWORD_CHANGED: AUDIT_BLINDED,
    AuditAction.AUTHENTICATOR_ADDED: AUDIT_BLINDED,
    AuditAction.AUTHENTICATOR_REMOVED: AUDIT_BLINDED,
    AuditAction.ENROLLED: AUDIT_BLINDED,
    AuditAction.ACTIVATED: AUDIT_BLINDED,
    # That she was randomized, not to what (details: the source, list or manual).
    AuditAction.RANDOMIZED: AUDIT_BLINDED,
    AuditAction.PERIOD_REPORTED: AUDIT_BLINDED,
    AuditAction.PERIOD_CORRECTED: AUDIT_BLINDED,
    AuditAction.DRAFT_SAVED: AUDIT_BLINDED,
    AuditAction.SUBMITTED: AUDIT_BLINDED,
    AuditAction.CORRECTED: AUDIT_BLINDED,
    AuditAction.EXCUSED: AUDIT_BLINDED,
    AuditAction.MISSED: AUDIT_BLINDED,
    AuditAction.WITHDRAWN: AUDIT_BLINDED,
    # A blinded export's fingerprint is of blinded content; an unblinded one's is not, nor is
    # an audit-trail download's row count when unblinded events were among its rows.
    AuditAction.EXPORTED: AUDIT_DECLARED,
    AuditAction.SUMMARY_VIEWED: AUDIT_UNBLINDED,
    AuditAction.UNBLINDED: AUDIT_UNBLINDED,
    AuditAction.ALLOCATION_UPLOADED: AUDIT_UNBLINDED,
    AuditAction.ALLOCATION_GENERATED: AUDIT_UNBLINDED,
    AuditAction.STUDY_CHANGED: AUDIT_BLINDED,
    # Who is given an unblinded role or emergency unblinding, by whom and why: never the
    # allocation itself, and an inspector reads that the two-person rule was kept.
    AuditAction.GRANT_PROPOSED: AUDIT_BLINDED,
    AuditAction.GRANT_APPROVED: AUDIT_BLINDED,
    AuditAction.GRANT_REJECTED: AUDIT_BLINDED,
    # Audit-trail review (signals are computed without the allocation; queries are the site's).
    AuditAction.SIGNAL_REVIEWED: AUDIT_BLINDED,
    AuditAction.QUERY_RAISED: AUDIT_BLINDED,
    AuditAction.QUERY_ANSWERED: AUDIT_BLINDED,
    AuditAction.QUERY_CLOSED: AUDIT_BLINDED,
    AuditAction.QUERIES_EXPORTED: AUDIT_BLINDED,
    AuditAction.SIGNAL_SETTINGS_CHANGED: AUDIT_BLINDED,
    AuditAction.INSTRUMENT_LOADED: AUDIT_BLINDED,
    # Counts of responses and scores, never a score or an arm.
    AuditAction.RESCORED: AUDIT_BLINDED,
    AuditAction.REMINDER_SENT: AUDIT_BLINDED,
    # Which channel she chose and whether a device was added or removed: never the number,
    # the address or the push endpoint (contact data stays out of the trail).
    AuditAction.REMINDER_CHANNEL_SET: AUDIT_BLINDED,
    AuditAction.PUSH_SUBSCRIBED: AUDIT_BLINDED,
    AuditAction.PUSH_REMOVED: AUDIT_BLINDED,
    AuditAction.DEMO_CREATED: AUDIT_BLINDED,
    # Change requests and signatures: her answers and the casebook's hash are blinded content
    # (the casebook's serialisation holds nothing of the allocation).
    AuditAction.CHANGE_REQUESTED: AUDIT_BLINDED,
    AuditAction.CHANGE_ACCEPTED: AUDIT_BLINDED,
    AuditAction.CHANGE_DECLINED: AUDIT_BLINDED,
    AuditAction.CASEBOOK_SIGNED: AUDIT_BLINDED,
    AuditAction.SIGNATURE_REFUSED: AUDIT_BLINDED,
    # Periods and answers loaded from a file: never an allocation (an allocation column in a
    # file is refused, diary.rules.imports).
    AuditAction.IMPORTED: AUDIT_BLINDED,
    # A lock's level, reason and the two people: nothing of the allocation.
    AuditAction.LOCK_PROPOSED: AUDIT_BLINDED,
    AuditAction.LOCK_CONFIRMED: AUDIT_BLINDED,
    AuditAction.LOCK_REJECTED: AUDIT_BLINDED,
    # The copy is blinded by construction (its files are the same whatever the allocation), so
    # its hashes and sizes are blinded content.
    AuditAction.SITE_COPY_GENERATED: AUDIT_BLINDED,
    AuditAction.SITE_COPY_DOWNLOADED: AUDIT_BLINDED,
    # A submission after the window closed, and the site's decision on it (times, reason).
    AuditAction.LATE_ENTRY_KEPT: AUDIT_BLINDED,
    AuditAction.LATE_ENTRY_ACCEPTED: AUDIT_BLINDED,
    AuditAction.LATE_ENTRY_DECLINED: AUDIT_BLINDED,
}


def audit_event_unblinded(action: str, *, unblinded: bool | None = None) -> bool:
    """Whether an event of `action` is unblinded: the value its writer stamps on the row.

    `unblinded` is the writer's declaration of what the event was computed from; an action
    whose blinding depends on it (AUDIT_DECLARED) needs one, and ValueError says so. An
    action the table does not know counts as unblinded (fail closed: a new event type stays
    away from blinded readers until it is classified here). Raises ValueError too when a
    writer calls an always-unblinded action blinded.
    """
    blinding = AUDIT_ACTION_BLINDING.get(action, AUDIT_UNBLINDED)
    if blinding == AUDIT_DECLARED:
        if unblinded is None:
            raise ValueError(f"An audit event {action!r} must declare whether it is unblinded.")
        return unblinded
    if blinding == AUDIT_UNBLINDED:
        if unblinded is False:
            raise ValueError(f"An audit event {action!r} is always unblinded.")
        return True
    return bool(unblinded)


def _blinded_away(user: AnyUser) -> Q:
    """The unblinded events this user may not read: those of studies where she is blinded,
    and those of no study unless she is unblinded in every study (a system event, such as an
    audit-trail download, may have counted any study's unblinded events)."""
    unblinded = unblinded_study_ids(user)
    hidden = Q(unblinded=True) & Q(study__isnull=False) & ~Q(study__in=unblinded)
    if not unblinded_everywhere(user):
        hidden |= Q(unblinded=True, study__isnull=True)
    return hidden


def unblinded_everywhere(user: AnyUser) -> bool:
    """Unblinded in every study there is (and there is one): for what cannot be scoped to one
    study (system events computed from unblinded content). Read once per user object."""
    cached = getattr(user, "_diary_unblinded_everywhere", None)
    if cached is None:
        unblinded = unblinded_study_ids(user)
        cached = bool(unblinded) and not Study.objects.exclude(pk__in=unblinded).exists()
        if user.is_authenticated:
            user._diary_unblinded_everywhere = cached  # type: ignore[union-attr]
    return cached


def _study_scope(user: AnyUser, perm: str) -> Q:
    """The events of the participants in her scope and the study-level ones (no participant)
    of her studies."""
    return Q(participant__in=participants_where(user, perm).values("pk")) | Q(
        participant__isnull=True, study__in=study_ids_where(user, perm)
    )


def audit_events_where(user: AnyUser, perm: str = AUDIT_TRAIL) -> QuerySet[AuditEvent]:
    """The audit trail as this user may read it with `perm`: the events of the participants
    in her scope and the study-level ones (no participant) of her studies. Unblinded events
    (the allocation list, an unblinding, the unblinded summary, an unblinded export's
    fingerprint: AuditEvent.unblinded) only where she is unblinded: elsewhere not even their
    timing reaches her."""
    return AuditEvent.objects.filter(_study_scope(user, perm)).exclude(_blinded_away(user))


def may_view_system_audit(user: AnyUser) -> bool:
    """The system audit view: active staff holding diary.view_system_audit (superusers do;
    others are given it by name or through a group made for it). No study role needed: the
    events it adds belong to no study."""
    return bool(
        user.is_authenticated and user.is_active and user.is_staff and user.has_perm(SYSTEM_AUDIT)
    )


def system_audit_events_where(user: AnyUser) -> QuerySet[AuditEvent]:
    """The system audit view's events: those of no study and no participant (staff logins,
    failed logins and lockouts naming no participant, audit-trail downloads, instrument
    loads), plus what her study roles already show her (audit_events_where). Participants'
    and studies' events outside her roles stay closed: a system administrator reads no
    clinical data without a study role. Unblinded events follow the same rule as everywhere."""
    if not may_view_system_audit(user):
        return AuditEvent.objects.none()
    system = Q(study__isnull=True, participant__isnull=True)
    return AuditEvent.objects.filter(system | _study_scope(user, AUDIT_TRAIL)).exclude(
        _blinded_away(user)
    )


def has_granted_permission(user: AnyUser, codename: str, app_label: str = "diary") -> bool:
    """A permission given to this very user by name: neither superuser status nor a group
    counts (a group would hand it to everyone added to it later, by one person's hand).

    For rights that must be granted deliberately, such as emergency unblinding, which only a
    two-person grant gives (diary.services.grants). Read once per user object (so once per
    request: the admin index asks too).
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
            .filter(user=user)
            .exists()
        )
    return cache[key]


def may_emergency_unblind(user: AnyUser, participant: Participant | None = None) -> bool:
    """Emergency unblinding of `participant` (of someone, when None): diary.emergency_unblind
    granted to her by name (only a two-person grant does that; no group holds it, superuser
    status never counts) AND, as for every permission, a membership that lets her read the
    participant's record."""
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


# --- Guarded rights: what nobody grants herself, nor alone -------------------------------------
# An unblinded role (a membership whose role's group holds diary.view_unblinded) and the
# emergency-unblinding permission. Each is granted only by a second person who already holds
# it in that study (diary.services.grants): never by the grantee, never by one person alone.
# The permissions behind them are held only through a role or such a grant, never ticked in
# the user or group admin.
GUARDED_PERMISSIONS = frozenset([*UNBLINDED, EMERGENCY_UNBLIND])


def _holding(user: AnyUser, perm: str, study_id: int, site_id: int | None, anywhere: bool) -> bool:
    """A membership granting `perm` in the study covers `site_id` (every site when None), or
    any site of the study when `anywhere`."""
    return any(
        m_study == study_id and (anywhere or m_site is None or m_site == site_id)
        for m_study, m_site, _ in _granting(user, perm)
    )


def holds_right(
    user: AnyUser,
    right: str,
    study_id: int,
    site_id: int | None = None,
    *,
    anywhere: bool = False,
) -> bool:
    """She holds the guarded right (GrantRight) in the study, at that site (at every site
    when `site_id` is None; at one site at least when `anywhere`)."""
    if right == GrantRight.UNBLINDED_ROLE:
        return _holding(user, VIEW_UNBLINDED, study_id, site_id, anywhere)
    if right == GrantRight.EMERGENCY_UNBLIND:
        return (
            _holding(user, VIEW_PARTICIPANT, study_id, site_id, anywhere)
            and user.has_perm(EMERGENCY_UNBLIND)
            and has_granted_permission(user, "emergency_unblind")
        )
    raise ValueError(f"unknown right {right!r}")


def may_see_grants(user: AnyUser) -> bool:
    """The grant requests' admin: system administrators (who propose) and the holders of a
    guarded right somewhere (who approve)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return bool(user.is_superuser or unblinded_study_ids(user) or may_emergency_unblind(user))


def grants_visible_to(user: AnyUser) -> QuerySet[AccessGrant]:
    """Grant requests she may read: every one for a system administrator, else those of the
    studies where she holds a guarded right."""
    if not may_see_grants(user):
        return AccessGrant.objects.none()
    if user.is_superuser:
        return AccessGrant.objects.all()
    return AccessGrant.objects.filter(study__in=grant_study_ids(user))


def grant_study_ids(user: AnyUser) -> list[int]:
    """The studies where she holds a guarded right (and so proposes and decides grants)."""
    studies = set(unblinded_study_ids(user))
    if has_granted_permission(user, "emergency_unblind"):
        studies |= set(study_ids_where(user, VIEW_PARTICIPANT))
    return sorted(studies)


def speaks_only_for_herself(user: AnyUser) -> bool:
    """Nobody else sets her password or e-mail, or enrols an authenticator for her: she holds a
    guarded right somewhere, so whoever took over her login would unblind herself (issue 13,
    item 3). Her access is reset only through the reset link to her own address."""
    return bool(grant_study_ids(user))


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
