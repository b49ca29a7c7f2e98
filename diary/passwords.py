"""Who may set a password, and the audit of every change (a password validator's two hooks).

Django routes every password form and command through the configured validators:
`validate()` before a password is set (the admin's forms, the user's own change form,
`manage.py changepassword`), `password_changed()` after it is saved (any `set_password()`
followed by `save()`). That makes them the one place to hold both rules:

- A participant's password is set only by her, with her invitation or reset link: her access
  is never reset by staff, who could otherwise log in as her and answer in her name.
- Every password change of any account is an audit event, with the acting user of the request
  (none for a command) and, for a participant, her record.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from diary.auth import is_linked_to_participant, password_is_set_by_link
from diary.models import AuditAction, Participant
from diary.request_context import current_user
from diary.services.audit import audit_record

REFUSED_FOR_PARTICIPANTS = (
    "A participant's password can only be set by her, with her invitation or password-reset "
    "link. Send her a new link instead."
)


class PasswordChangePolicy:
    """AUTH_PASSWORD_VALIDATORS entry; see the module docstring."""

    def validate(self, password: str, user: Any = None) -> None:
        if is_linked_to_participant(user) and not password_is_set_by_link():
            raise ValidationError(REFUSED_FOR_PARTICIPANTS, code="participant_password")

    def password_changed(self, password: str, user: Any = None) -> None:
        password_change_record(user=user)

    def get_help_text(self) -> str:
        return "Every password change is recorded in the audit trail."


def password_change_record(*, user: Any, disabled: bool = False) -> None:
    """Append the PASSWORD_CHANGED event of `user`'s account (`disabled`: password login was
    switched off rather than a new password set). Never the password or its hash."""
    by_link = password_is_set_by_link()
    acting = current_user.get()
    actor = user if by_link else acting
    participant = Participant.objects.filter(user=user).first() if user is not None else None
    details: dict[str, Any] = {"account": user.get_username()}
    if by_link:
        details["by_link"] = True
    if disabled:
        details["disabled"] = True
    audit_record(
        action=AuditAction.PASSWORD_CHANGED,
        actor=actor if actor is not None and actor.is_authenticated else None,
        participant=participant,
        obj=user,
        details=details,
    )
