"""Logins, logouts, failed logins and lockouts go to the audit trail; after every migrate
(and the test suite's flush) the role groups hold the access policy's permissions.

The audit receivers only record what django.contrib.auth and django-axes report; they change
nothing else.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from diary.access import participant_of
from diary.auth import user_for_identifier
from diary.models import AuditAction
from diary.services.audit import audit_record
from diary.services.push import push_subscriptions_remove
from diary.services.staff import role_groups_ensure
from diary.views.reminders import PUSH_SESSION_KEY


@receiver(post_migrate, dispatch_uid="diary_role_groups")
def _role_groups(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Once per migrate, for this app: auth's create_permissions (connected at auth's ready,
    # before this) has made this app's permissions by then.
    if getattr(sender, "name", None) == "diary":
        role_groups_ensure(using=using)


def _identifier_kind(identifier: str) -> str:
    # The typed identifier may be an e-mail address: contact details stay out of the trail.
    return "email" if "@" in identifier else "study_id_or_username"


def _participant_named(identifier: str):
    user = user_for_identifier(identifier)
    return participant_of(user) if user is not None else None


@receiver(user_logged_in, dispatch_uid="diary_audit_login")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.LOGIN, actor=user, participant=participant_of(user))


@receiver(user_logged_out, dispatch_uid="diary_audit_logout")
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action=AuditAction.LOGOUT, actor=user, participant=participant_of(user))


@receiver(user_logged_out, dispatch_uid="diary_push_logout")
def push_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Sent before the session is flushed: the devices subscribed in this session stop getting
    # her reminders, so that the next person on a shared device does not see them.
    participant = participant_of(user) if user is not None else None
    made_here = request.session.get(PUSH_SESSION_KEY, []) if request is not None else []
    if participant is not None and made_here:
        push_subscriptions_remove(participant=participant, ids=made_here, reason="logout")


@receiver(user_login_failed, dispatch_uid="diary_audit_login_failed")
def audit_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    identifier = str(credentials.get("username", ""))
    participant = _participant_named(identifier)
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        participant=participant,
        details={
            "identifier": _identifier_kind(identifier),
            "known_account": user_for_identifier(identifier) is not None,
        },
    )


@receiver(user_locked_out, dispatch_uid="diary_audit_lockout")
def audit_lockout(sender: Any, request: Any, username: str, ip_address: str, **kwargs: Any) -> None:
    # Without a username the address reached its own limit (diary.lockout), not an account.
    audit_record(
        action=AuditAction.LOCKOUT,
        participant=_participant_named(username or ""),
        details={"ip_address": ip_address, "scope": "account" if username else "address"},
    )
