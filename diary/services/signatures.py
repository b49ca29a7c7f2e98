"""The investigator's electronic signature of a participant's casebook (21 CFR Part 11).

- 11.200: she signs after re-authenticating with both of her components, her password and a
  code of her authenticator (django-otp TOTP, the staff second factor), whatever her session
  already proved. A failed re-authentication is audited (SIGNATURE_REFUSED) and stores
  nothing else. Failures are limited as her login is (diary/lockout.py, django-axes): after
  AXES_FAILURE_LIMIT of them in a run (since her last signature, none a cool-off apart),
  signing is refused without checking the password or code until AXES_COOLOFF_TIME after the
  latest has passed, and each such refusal is audited too (django-otp throttles only the
  code; this limits the password).
- 11.50: the record holds her printed name, the date and time (UTC; shown in her own zone
  too) and the meaning of the signature (SIGNATURE_MEANING).
- 11.70: it is bound to the SHA-256 of exactly what she was shown and signed (the canonical
  casebook, diary.selectors.casebook); any later change of the participant's data changes the
  hash, which voids the signature on every page that shows it.

Signatures are append-only (no UPDATE or DELETE for the application role, see
diary/enforcement.py) and audited (CASEBOOK_SIGNED).
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user

from diary import access
from diary.models import (
    SIGNATURE_MEANING,
    AuditAction,
    AuditEvent,
    CasebookSignature,
    Participant,
)
from diary.models.study import validate_time_zone
from diary.rules.casebook import CASEBOOK_FORMAT, MILESTONE_FORMAT
from diary.selectors.casebook import SignatureState, signature_state
from diary.services.audit import audit_record


class SignatureRefused(ValidationError):
    """A signature that cannot be made; the message says why. Nothing was signed."""


REAUTHENTICATION_FAILED = (
    "Your password or authenticator code is not correct. Nothing was signed; the attempt is "
    "recorded in the audit trail."
)
NO_AUTHENTICATOR = (
    "Signing needs your second factor: set up two-factor authentication first (Two-factor "
    "authentication, on the admin's index). Nothing was signed."
)
ALREADY_SIGNED = (
    "This casebook is already signed and has not changed since: there is nothing new to sign."
)
NO_PRINTED_NAME = (
    "Your account has no full name, which a signature must print: ask the system "
    "administrator to enter it. Nothing was signed."
)


def _second_factor_matches(user: AbstractBaseUser, token: str) -> bool:
    """A code of one of her confirmed authenticators (used once: django-otp refuses a code
    it has already accepted, and throttles repeated failures)."""
    token = (token or "").strip().replace(" ", "")
    if not token.isdigit():
        return False
    return any(device.verify_token(token) for device in devices_for_user(user, confirmed=True))


# The failures that count towards the lock: a password or code that was checked and wrong.
COUNTED_FAILURES = ("password", "authenticator code")
LOCKED = "locked"


def _refuse_reauthentication(
    actor: AbstractBaseUser, participant: Participant, what: str, now: datetime
) -> None:
    """Record the failed re-authentication in a transaction of its own (the refusal must not
    roll it back), then refuse."""
    with transaction.atomic():
        audit_record(
            action=AuditAction.SIGNATURE_REFUSED,
            actor=actor,
            participant=participant,
            reason=f"re-authentication failed: {what}",
            occurred_at=now,
            details={"failed": what},
        )
    raise SignatureRefused(REAUTHENTICATION_FAILED)


def signing_locked_until(*, actor: AbstractBaseUser, now: datetime) -> datetime | None:
    """Until when her signing is locked (None: it is not), counted as django-axes counts her
    login failures: a run of AXES_FAILURE_LIMIT re-authentication failures since her last
    signature, each within AXES_COOLOFF_TIME of the one before, locks it until the cool-off
    from the latest of them has passed. Refusals while locked do not extend it."""
    limit, cool_off = settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME
    if not limit or cool_off is None:
        return None
    mine = AuditEvent.objects.filter(actor=actor)
    last_signed = (
        mine.filter(action=AuditAction.CASEBOOK_SIGNED)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    failures = mine.filter(
        action=AuditAction.SIGNATURE_REFUSED, details__failed__in=COUNTED_FAILURES
    )
    if last_signed is not None:
        failures = failures.filter(occurred_at__gt=last_signed)
    recent = list(failures.order_by("-occurred_at").values_list("occurred_at", flat=True)[:limit])
    if len(recent) < limit or recent[0] + cool_off <= now:
        return None
    if any(later - earlier > cool_off for later, earlier in pairwise(recent)):
        return None  # the run was broken by a pause of a cool-off: axes would have reset it
    return recent[0] + cool_off


def _refuse_locked(
    actor: AbstractBaseUser, participant: Participant, until: datetime, now: datetime
) -> None:
    with transaction.atomic():
        audit_record(
            action=AuditAction.SIGNATURE_REFUSED,
            actor=actor,
            participant=participant,
            reason="too many failed re-authentications: signing locked",
            occurred_at=now,
            details={"failed": LOCKED, "until": until.isoformat()},
        )
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    raise SignatureRefused(
        f"Too many failed attempts to confirm your password and code. Signing is locked until "
        f"{until.astimezone(UTC):%Y-%m-%d %H:%M} UTC (in {minutes} minute"
        f"{'s' if minutes != 1 else ''}); your password and code were not checked. Nothing was "
        "signed; the attempt is recorded in the audit trail."
    )


def casebook_sign(
    *,
    participant: Participant,
    actor: AbstractBaseUser,
    password: str,
    token: str,
    hash_seen: str,
    time_zone: str,
    milestone: int | None = None,
    now: datetime | None = None,
) -> CasebookSignature:
    """Sign her whole casebook as it is now (`milestone` None), or her data up to one of her
    study's milestones (its period number), as `actor`, after re-authentication.

    `hash_seen` is the hash the signing page showed: the signature is refused when that data
    changed since (what she signs is what she saw). Raises PermissionDenied unless the actor
    may sign at the participant's site; SignatureRefused for a wrong password or code
    (audited), signing locked after too many of them (audited, the password not checked:
    signing_locked_until), a milestone the study does not define or she has not reached
    (every period up to it submitted, missed or excused), no authenticator, no printed name,
    an unknown time zone, changed data, or data already signed and unchanged since. Nothing
    is stored on refusal but the audit of a failed re-authentication.
    """
    if not access.may_sign(actor, participant):
        raise PermissionDenied("You may not sign casebooks at this participant's site.")
    printed_name = actor.get_full_name().strip()  # type: ignore[attr-defined]
    if not printed_name:
        raise SignatureRefused(NO_PRINTED_NAME)
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise SignatureRefused(exc.messages) from exc
    if not any(True for _ in devices_for_user(actor, confirmed=True)):
        raise SignatureRefused(NO_AUTHENTICATOR)
    state = _state(participant, milestone)
    if not state.reached:
        raise SignatureRefused(
            f"{state.label} is not reached yet: {state.scope} must each be submitted, missed "
            "or excused before the investigator signs there. Nothing was signed."
        )
    if state.signed:
        raise SignatureRefused(ALREADY_SIGNED)  # before a code is spent on nothing
    now = now or timezone.now()
    until = signing_locked_until(actor=actor, now=now)
    if until is not None:
        _refuse_locked(actor, participant, until, now)
    if not actor.check_password(password or ""):
        _refuse_reauthentication(actor, participant, "password", now)
    if not _second_factor_matches(actor, token):
        _refuse_reauthentication(actor, participant, "authenticator code", now)
    return _signature_store(
        participant=participant,
        actor=actor,
        printed_name=printed_name,
        hash_seen=hash_seen,
        time_zone=time_zone,
        milestone=milestone,
        now=now,
    )


def _state(participant: Participant, milestone: int | None) -> SignatureState:
    try:
        return signature_state(participant=participant, milestone=milestone)
    except LookupError as exc:
        raise SignatureRefused(f"{exc} Nothing was signed.") from exc


@transaction.atomic
def _signature_store(
    *,
    participant: Participant,
    actor: AbstractBaseUser,
    printed_name: str,
    hash_seen: str,
    time_zone: str,
    milestone: int | None,
    now: datetime,
) -> CasebookSignature:
    # Her row locked first: a submission, correction or period report of hers waits, so the
    # hash computed here is the hash of what is signed.
    locked = (
        Participant.objects.select_for_update(no_key=True, of=("self",))
        .select_related("study", "site")
        .get(pk=participant.pk)
    )
    state = _state(locked, milestone)
    content_format = CASEBOOK_FORMAT if milestone is None else MILESTONE_FORMAT
    if state.current_hash != hash_seen:
        raise SignatureRefused(
            "The casebook changed since you opened it. Nothing was signed; read it again "
            "before signing."
        )
    if state.signed:
        raise SignatureRefused(ALREADY_SIGNED)
    signature = CasebookSignature.objects.create(
        study_id=locked.study_id,
        participant=locked,
        signed_by=actor,
        printed_name=printed_name,
        signed_at=now,
        signer_time_zone=time_zone,
        meaning=SIGNATURE_MEANING,
        content_hash=state.current_hash,
        content_format=content_format,
        milestone=milestone,
        milestone_label="" if milestone is None else state.label,
    )
    audit_record(
        action=AuditAction.CASEBOOK_SIGNED,
        actor=actor,
        participant=locked,
        obj=signature,
        reason=SIGNATURE_MEANING,
        occurred_at=now,
        details={
            "signature": signature.pk,
            "printed_name": printed_name,
            "content_hash": state.current_hash,
            "format": content_format,
            "milestone": milestone,
            "milestone_label": signature.milestone_label,
            "replaces_void": state.latest.pk if state.latest else None,
        },
    )
    return signature
