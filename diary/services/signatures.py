"""The investigator's electronic signature of a participant's casebook (21 CFR Part 11).

- 11.200: she signs after re-authenticating with both of her components, her password and a
  code of her authenticator (django-otp TOTP, the staff second factor), whatever her session
  already proved. A failed re-authentication is audited (SIGNATURE_REFUSED) and stores
  nothing else.
- 11.50: the record holds her printed name, the date and time (UTC; shown in her own zone
  too) and the meaning of the signature (SIGNATURE_MEANING).
- 11.70: it is bound to the SHA-256 of exactly what she was shown and signed (the canonical
  casebook, diary.selectors.casebook); any later change of the participant's data changes the
  hash, which voids the signature on every page that shows it.

Signatures are append-only (no UPDATE or DELETE for the application role, see
diary/enforcement.py) and audited (CASEBOOK_SIGNED).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user

from diary import access
from diary.models import (
    SIGNATURE_MEANING,
    AuditAction,
    CasebookSignature,
    Participant,
)
from diary.models.study import validate_time_zone
from diary.rules.casebook import CASEBOOK_FORMAT
from diary.selectors.casebook import signature_state
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


def _refuse_reauthentication(actor: AbstractBaseUser, participant: Participant, what: str) -> None:
    """Record the failed re-authentication in a transaction of its own (the refusal must not
    roll it back), then refuse."""
    with transaction.atomic():
        audit_record(
            action=AuditAction.SIGNATURE_REFUSED,
            actor=actor,
            participant=participant,
            reason=f"re-authentication failed: {what}",
            details={"failed": what},
        )
    raise SignatureRefused(REAUTHENTICATION_FAILED)


def casebook_sign(
    *,
    participant: Participant,
    actor: AbstractBaseUser,
    password: str,
    token: str,
    hash_seen: str,
    time_zone: str,
    now: datetime | None = None,
) -> CasebookSignature:
    """Sign her whole casebook as it is now, as `actor`, after re-authentication.

    `hash_seen` is the casebook hash the signing page showed: the signature is refused when
    the casebook changed since (what she signs is what she saw). Raises PermissionDenied
    unless the actor may sign at the participant's site; SignatureRefused for a wrong password
    or code (audited), no authenticator, no printed name, an unknown time zone, a changed
    casebook, or a casebook already signed and unchanged since. Nothing is stored on refusal
    but the audit of a failed re-authentication.
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
    if signature_state(participant=participant).signed:
        raise SignatureRefused(ALREADY_SIGNED)  # before a code is spent on nothing
    if not actor.check_password(password or ""):
        _refuse_reauthentication(actor, participant, "password")
    if not _second_factor_matches(actor, token):
        _refuse_reauthentication(actor, participant, "authenticator code")
    return _signature_store(
        participant=participant,
        actor=actor,
        printed_name=printed_name,
        hash_seen=hash_seen,
        time_zone=time_zone,
        now=now or timezone.now(),
    )


@transaction.atomic
def _signature_store(
    *,
    participant: Participant,
    actor: AbstractBaseUser,
    printed_name: str,
    hash_seen: str,
    time_zone: str,
    now: datetime,
) -> CasebookSignature:
    # Her row locked first: a submission, correction or period report of hers waits, so the
    # hash computed here is the hash of what is signed.
    locked = Participant.objects.select_for_update(no_key=True, of=("self",)).get(pk=participant.pk)
    state = signature_state(participant=locked)
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
        content_format=CASEBOOK_FORMAT,
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
            "format": CASEBOOK_FORMAT,
            "replaces_void": state.latest.pk if state.latest else None,
        },
    )
    return signature
