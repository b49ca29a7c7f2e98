"""Staff authenticators (django-otp TOTP devices): every enrolment and removal is audited.

A confirmed device is what the admin asks a code of (config.admin_site), so adding one,
removing one or moving one to another account changes how an account is protected: the
audit trail records each with who did it, whose account and which device (never its key).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary.models import AuditAction
from diary.services.audit import audit_record


def _record(action: AuditAction, *, device: TOTPDevice, user, actor) -> None:
    audit_record(
        action=action,
        actor=actor,
        obj=device,
        details={"account": user.get_username(), "device": device.name},
    )


@transaction.atomic
def authenticator_confirm(*, device: TOTPDevice, actor: AbstractBaseUser) -> TOTPDevice:
    """Confirm a device after its first good code: from now on it is asked for at login."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    _record(AuditAction.AUTHENTICATOR_ADDED, device=device, user=device.user, actor=actor)
    return device


@transaction.atomic
def authenticator_save(*, device: TOTPDevice, actor: AbstractBaseUser) -> TOTPDevice:
    """Save a device as edited (the system admin's device admin), recording what changes
    which accounts it protects: confirmed or not, and whose it is."""
    before = (
        TOTPDevice.objects.select_for_update(no_key=True)
        .select_related("user")
        .filter(pk=device.pk)
        .first()
        if device.pk
        else None
    )
    device.save()
    if (
        before is not None
        and before.confirmed
        and (not device.confirmed or before.user_id != device.user_id)
    ):
        _record(AuditAction.AUTHENTICATOR_REMOVED, device=device, user=before.user, actor=actor)
    if device.confirmed and (
        before is None or not before.confirmed or before.user_id != device.user_id
    ):
        _record(AuditAction.AUTHENTICATOR_ADDED, device=device, user=device.user, actor=actor)
    return device


@transaction.atomic
def authenticator_remove(*, device: TOTPDevice, actor: AbstractBaseUser) -> None:
    """Delete a device; removing a confirmed one is recorded (an unconfirmed one protected
    nothing yet)."""
    if device.confirmed:
        _record(AuditAction.AUTHENTICATOR_REMOVED, device=device, user=device.user, actor=actor)
    device.delete()
