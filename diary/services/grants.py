"""Two-person grants of the guarded rights: an unblinded role, and emergency unblinding.

Nobody unblinds herself, and nobody unblinds anyone alone:

- `grant_propose`: a system administrator, or someone who holds the right in the study,
  proposes it for another person with a reason. Pending; nothing is granted yet.
- `grant_approve`: a second person who already holds the right in that study, covering the
  requested sites (not the proposer, not the grantee), approves; only then is the membership
  written (an unblinded role) or the permission given to the person (emergency unblinding).
- `grant_reject`: a second person (a system administrator or a holder, neither the proposer
  nor the grantee) rejects a pending request; nothing is given.
- `grant_first_holder`: a study with no holder yet gets its first one from two named people,
  neither of them the grantee (`manage.py grant_first_holder`).

Every step is audited with its reason and e-mails the study's unblinded staff (on commit). The
database refuses a grant proposed or decided by its grantee, or decided by its proposer
(AccessGrant's check constraints).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from diary import access
from diary.models import (
    AccessGrant,
    AuditAction,
    GrantRight,
    GrantStatus,
    Participant,
    Site,
    StaffMembership,
    StaffRole,
    Study,
)
from diary.services.audit import audit_record
from diary.services.staff import staff_membership_write, user_caches_clear

MIN_REASON_LENGTH = 15
SELF_GRANT = "Nobody grants herself a right: another person proposes it for you."
SAME_PERSON = "A second person approves: not the one who proposed it, not the one who gets it."


def _grantee_check(*, grantee: AbstractBaseUser, study: Study, site: Site | None) -> None:
    if not (grantee.is_active and grantee.is_staff):
        raise ValidationError({"grantee": "Only an active staff account can hold this right."})
    if Participant.objects.filter(user=grantee).exists():
        raise ValidationError({"grantee": "A participant's account holds no staff right."})
    if site is not None and site.study_id != study.pk:
        raise ValidationError({"site": "This site belongs to another study."})


def _reason_check(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationError(
            {"reason": f"Give the reason for this grant (at least {MIN_REASON_LENGTH} characters)."}
        )
    return reason


def _right_check(
    *, right: str, role: str, grantee: AbstractBaseUser, study: Study, site: Site | None
) -> str:
    """The role to record ('' for emergency unblinding); refuses what makes no sense."""
    if right == GrantRight.UNBLINDED_ROLE:
        if role not in access.UNBLINDED_ROLES:
            raise ValidationError({"role": "Choose an unblinded role."})
        return role
    if right == GrantRight.EMERGENCY_UNBLIND:
        # The permission works only through a membership that lets her read the participant.
        memberships = StaffMembership.objects.filter(user=grantee, study=study)
        covering = (
            memberships.filter(site=None)
            if site is None
            else memberships.filter(Q(site=None) | Q(site=site))
        )
        if not covering.exists():
            raise ValidationError(
                {"grantee": "She needs a membership covering these sites of the study first."}
            )
        return ""
    raise ValidationError({"right": f"Unknown right {right!r}."})


def grant_proposal_check(
    *,
    study: Study,
    grantee: AbstractBaseUser,
    right: str,
    reason: str,
    actor: AbstractBaseUser,
    site: Site | None = None,
    role: str = "",
) -> tuple[str, str]:
    """Raise as grant_propose would, before anything is stored (a form asks this first);
    return the cleaned (reason, role)."""
    if not (actor.is_superuser or access.holds_right(actor, right, study.pk, anywhere=True)):
        raise PermissionDenied("Only a system administrator or a holder of this right proposes it.")
    if actor.pk == grantee.pk:
        raise ValidationError(SELF_GRANT)
    reason = _reason_check(reason)
    _grantee_check(grantee=grantee, study=study, site=site)
    role = _right_check(right=right, role=role, grantee=grantee, study=study, site=site)
    if AccessGrant.objects.filter(
        study=study, grantee=grantee, right=right, status=GrantStatus.PENDING
    ).exists():
        raise ValidationError("The same right is already waiting for approval for her.")
    return reason, role


@transaction.atomic
def grant_propose(
    *,
    study: Study,
    grantee: AbstractBaseUser,
    right: str,
    reason: str,
    actor: AbstractBaseUser,
    site: Site | None = None,
    role: str = "",
    now: datetime | None = None,
) -> AccessGrant:
    """Record a pending grant; nothing is given until a second holder approves. Raises
    PermissionDenied unless `actor` is a system administrator or holds the right in the study;
    ValidationError for a grant to herself, a short reason, a grantee who cannot hold it, or
    one already pending (grant_proposal_check)."""
    reason, role = grant_proposal_check(
        study=study, grantee=grantee, right=right, reason=reason, actor=actor, site=site, role=role
    )
    grant = AccessGrant.objects.create(
        study=study,
        site=site,
        grantee=grantee,
        right=right,
        role=role,
        reason=reason,
        proposed_by=actor,
        proposed_at=now or timezone.now(),
    )
    _record(grant, AuditAction.GRANT_PROPOSED, actor=actor, reason=reason)
    return grant


@transaction.atomic
def grant_approve(
    *, grant: AccessGrant, actor: AbstractBaseUser, now: datetime | None = None
) -> AccessGrant:
    """Approve a pending grant and give the right. Raises ValidationError when it is not
    pending or `actor` proposed it or would get it, PermissionDenied unless `actor` holds the
    right in the study, covering the requested sites."""
    grant = AccessGrant.objects.select_for_update(no_key=True).get(pk=grant.pk)
    if grant.status != GrantStatus.PENDING:
        raise ValidationError(f"This request is already {grant.get_status_display().lower()}.")
    if actor.pk in (grant.proposed_by_id, grant.grantee_id):
        raise ValidationError(SAME_PERSON)
    if not access.holds_right(actor, grant.right, grant.study_id, grant.site_id):
        raise PermissionDenied(
            "Only someone who already holds this right in the study, for these sites, approves."
        )
    grant.status = GrantStatus.APPROVED
    grant.decided_by = actor
    grant.decided_at = now or timezone.now()
    grant.save(update_fields=["status", "decided_by", "decided_at"])
    _give(grant, actor=actor)
    _record(grant, AuditAction.GRANT_APPROVED, actor=actor, reason=grant.reason)
    return grant


@transaction.atomic
def grant_reject(
    *, grant: AccessGrant, actor: AbstractBaseUser, reason: str = "", now: datetime | None = None
) -> AccessGrant:
    """Reject a pending grant; nothing is given. A second person decides, as for approval:
    a system administrator or a holder of the right in the study, neither its proposer nor
    its grantee. Raises ValidationError or PermissionDenied otherwise."""
    grant = AccessGrant.objects.select_for_update(no_key=True).get(pk=grant.pk)
    if grant.status != GrantStatus.PENDING:
        raise ValidationError(f"This request is already {grant.get_status_display().lower()}.")
    if actor.pk in (grant.proposed_by_id, grant.grantee_id):
        raise ValidationError(SAME_PERSON)
    if not (
        actor.is_superuser or access.holds_right(actor, grant.right, grant.study_id, anywhere=True)
    ):
        raise PermissionDenied("Only a system administrator or a holder of this right rejects it.")
    grant.status = GrantStatus.REJECTED
    grant.decided_by = actor
    grant.decided_at = now or timezone.now()
    grant.save(update_fields=["status", "decided_by", "decided_at"])
    _record(grant, AuditAction.GRANT_REJECTED, actor=actor, reason=reason.strip())
    return grant


@transaction.atomic
def grant_first_holder(
    *,
    study: Study,
    grantee: AbstractBaseUser,
    right: str,
    reason: str,
    proposed_by: AbstractBaseUser,
    approved_by: AbstractBaseUser,
    site: Site | None = None,
    role: str = "",
    now: datetime | None = None,
) -> AccessGrant:
    """The study's first holder of a right, named by two people (the command's two accounts,
    both recorded). Raises ValidationError when the study already has a holder (then the
    ordinary grant applies), the two are one person, or either is the grantee or not active
    staff."""
    now = now or timezone.now()
    people = {proposed_by.pk, approved_by.pk}
    if len(people) < 2:
        raise ValidationError("Two different people name the first holder.")
    if grantee.pk in people:
        raise ValidationError(SELF_GRANT)
    for person in (proposed_by, approved_by):
        if not (person.is_active and person.is_staff):
            raise ValidationError(f"{person.get_username()} is not an active staff account.")
    if holders(study=study, right=right):
        raise ValidationError(
            "This study already has a holder of this right: propose the grant in the admin "
            "(Access grants) for a holder to approve."
        )
    reason = _reason_check(reason)
    _grantee_check(grantee=grantee, study=study, site=site)
    role = _right_check(right=right, role=role, grantee=grantee, study=study, site=site)
    grant = AccessGrant.objects.create(
        study=study,
        site=site,
        grantee=grantee,
        right=right,
        role=role,
        reason=reason,
        proposed_by=proposed_by,
        proposed_at=now,
        decided_by=approved_by,
        decided_at=now,
        status=GrantStatus.APPROVED,
        bootstrap=True,
    )
    _record(grant, AuditAction.GRANT_PROPOSED, actor=proposed_by, reason=reason)
    _give(grant, actor=approved_by)
    _record(grant, AuditAction.GRANT_APPROVED, actor=approved_by, reason=reason)
    return grant


def holders(*, study: Study, right: str) -> list[AbstractBaseUser]:
    """The active staff who hold `right` in the study (at any site)."""
    users = (
        get_user_model()
        .objects.filter(memberships__study=study, is_active=True, is_staff=True)
        .distinct()
    )
    return [user for user in users if access.holds_right(user, right, study.pk, anywhere=True)]


def _give(grant: AccessGrant, *, actor: AbstractBaseUser) -> None:
    grantee = grant.grantee
    if grant.right == GrantRight.UNBLINDED_ROLE:
        membership = StaffMembership.objects.filter(
            user=grantee, study=grant.study, site=grant.site
        ).first() or StaffMembership(user=grantee, study=grant.study, site=grant.site)
        membership.role = StaffRole(grant.role)
        staff_membership_write(
            membership=membership, actor=actor, reason=f"granted by request {grant.pk}"
        )
    else:
        grantee.user_permissions.add(  # type: ignore[attr-defined]
            Permission.objects.get(codename="emergency_unblind", content_type__app_label="diary")
        )
        user_caches_clear(grantee)


def _record(grant: AccessGrant, action: AuditAction, *, actor, reason: str) -> None:
    details = {
        "grant": grant.pk,
        "grantee": grant.grantee.get_username(),
        "right": grant.right,
        "role": grant.role,
        "site": grant.site.code if grant.site else "all sites",
        "proposed_by": grant.proposed_by.get_username(),
    }
    if grant.decided_by is not None:
        details["decided_by"] = grant.decided_by.get_username()
    if grant.bootstrap:
        details["first_holder"] = True
    audit_record(
        action=action, actor=actor, study=grant.study, obj=grant, reason=reason, details=details
    )
    _notify(grant, action, actor=actor, reason=reason)


def unblinded_staff_emails(study: Study) -> list[str]:
    """E-mail addresses of the study's active unblinded staff."""
    return sorted(
        {
            m.user.email
            for m in access.unblinded_memberships(study).select_related("user")
            if m.user.email and m.user.is_active
        }
    )


def _notify(grant: AccessGrant, action: AuditAction, *, actor, reason: str) -> None:
    recipients = unblinded_staff_emails(grant.study)
    if not recipients:
        return
    what = grant.get_role_display() if grant.role else grant.get_right_display()
    where = grant.site.code if grant.site else "all sites"
    verb = {
        AuditAction.GRANT_PROPOSED: "proposed",
        AuditAction.GRANT_APPROVED: "approved",
        AuditAction.GRANT_REJECTED: "rejected",
    }[action]
    subject = f"[{grant.study.code}] Access {verb}: {what} for {grant.grantee.get_username()}"
    body = (
        f"{actor.get_username()} {verb} {what} ({where}) for {grant.grantee.get_username()} "
        f"in study {grant.study.code} (request {grant.pk}, proposed by "
        f"{grant.proposed_by.get_username()}).\n\nReason given:\n{reason}\n\n"
        "If you did not expect this, tell the study's sponsor and system administrator.\n"
    )
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients))
