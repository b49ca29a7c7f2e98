"""Web push: her devices' subscriptions, and sending a reminder to one of them.

A subscription is what her browser's PushManager.subscribe() returned after she tapped "Turn
on notifications" (diary/static/diary/push.js): stored for her own account only, one per
device, removed when she logs out on that device or switches it off, and deleted when the
push service answers 404 or 410 (the browser dropped it).

Sending uses pywebpush: the payload is encrypted for her browser (RFC 8291, aes128gcm) and
signed with the server's VAPID key (RFC 8292, settings.VAPID_PRIVATE_KEY), with a TTL after
which the push service drops an undelivered message (settings.PUSH_TTL_SECONDS).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from diary.models import AuditAction, Participant, PushSubscription
from diary.services.audit import audit_record


class PushSubscriptionInvalid(ValueError):
    """Not a push subscription this server can use; `message` says what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PushSubscriptionForeign(PushSubscriptionInvalid):
    """The endpoint is already another account's: a device reaches one person only."""


class PushGone(Exception):
    """The push service no longer knows the subscription (404/410); it has been deleted."""


class PushError(Exception):
    """The push service refused or could not be reached; the subscription is kept."""


def push_enabled() -> bool:
    """Web push is offered only when the server has a VAPID key pair."""
    return bool(settings.VAPID_PRIVATE_KEY and settings.VAPID_PUBLIC_KEY)


def _key(value: Any, *, name: str, length: int) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise PushSubscriptionInvalid(f"The subscription's {name} key is missing.")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise PushSubscriptionInvalid(f"The subscription's {name} key is not base64url.") from exc
    if len(raw) != length or (name == "p256dh" and raw[0] != 0x04):
        raise PushSubscriptionInvalid(f"The subscription's {name} key has the wrong length.")
    return value


def push_subscription_parse(data: Any) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) of a PushSubscription's JSON (toJSON()), or
    PushSubscriptionInvalid. Only https endpoints: the server POSTs to what is stored here, so
    nothing else (an internal address, another scheme) is accepted from a browser."""
    if not isinstance(data, dict):
        raise PushSubscriptionInvalid("A push subscription is a JSON object.")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or len(endpoint) > 2000:
        raise PushSubscriptionInvalid("The subscription has no endpoint.")
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise PushSubscriptionInvalid("The subscription's endpoint is not an https address.")
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise PushSubscriptionInvalid("The subscription has no keys.")
    # P-256 public key, uncompressed (65 bytes); auth secret 16 bytes (RFC 8291).
    p256dh = _key(keys.get("p256dh"), name="p256dh", length=65)
    auth = _key(keys.get("auth"), name="auth", length=16)
    return endpoint, p256dh, auth


@transaction.atomic
def push_subscription_save(
    *, participant: Participant, data: Any, user_agent: str, now: datetime
) -> PushSubscription:
    """Store her device's subscription; the same endpoint again refreshes its keys.

    Raises PushSubscriptionInvalid for a malformed one and PushSubscriptionForeign for an
    endpoint held by another account; nothing is stored then. Audited (never the endpoint).
    """
    endpoint, p256dh, auth = push_subscription_parse(data)
    existing = (
        PushSubscription.objects.select_for_update(no_key=True, of=("self",))
        .filter(endpoint=endpoint)
        .first()
    )
    if existing is not None and existing.participant_id != participant.pk:
        raise PushSubscriptionForeign(
            "This device already receives another account's notifications. That account must "
            "log out on this device first."
        )
    if existing is not None:
        existing.p256dh, existing.auth = p256dh, auth
        existing.save(update_fields=["p256dh", "auth"])
        return existing
    subscription = PushSubscription.objects.create(
        participant=participant,
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        user_agent=user_agent[:200],
        created_at=now,
    )
    audit_record(
        action=AuditAction.PUSH_SUBSCRIBED,
        actor=participant.user,
        participant=participant,
        occurred_at=now,
        details={"devices": participant.push_subscriptions.count()},
    )
    return subscription


@transaction.atomic
def push_subscriptions_remove(
    *, participant: Participant, ids: Iterable[int] | None = None, endpoint: str = "", reason: str
) -> int:
    """Delete her subscriptions with these ids, or with this endpoint; only hers, whatever
    the ids name. Returns how many went; audited with the reason when any did."""
    mine = PushSubscription.objects.filter(participant=participant)
    if ids is not None:
        mine = mine.filter(pk__in=list(ids))
    elif endpoint:
        mine = mine.filter(endpoint=endpoint)
    else:
        return 0
    removed, _ = mine.delete()
    if removed:
        audit_record(
            action=AuditAction.PUSH_REMOVED,
            actor=None if reason == "expired" else participant.user,
            participant=participant,
            details={"reason": reason, "removed": removed},
        )
    return removed


def push_send(subscription: PushSubscription, *, title: str, body: str, url: str) -> None:
    """Send one notification, encrypted for her browser. Raises PushGone after deleting a
    subscription the push service no longer knows (404, 410), PushError otherwise."""
    payload = json.dumps({"title": title, "body": body, "url": url})
    claims = {"sub": settings.VAPID_SUBJECT}
    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=payload,
            # From the raw key, not a string pywebpush would first try as a file name.
            vapid_private_key=Vapid.from_raw(settings.VAPID_PRIVATE_KEY.encode()),
            vapid_claims=claims,
            ttl=settings.PUSH_TTL_SECONDS,
            timeout=settings.PUSH_TIMEOUT,
            headers={"Urgency": "normal"},
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (404, 410):
            push_subscriptions_remove(
                participant=subscription.participant, ids=[subscription.pk], reason="expired"
            )
            raise PushGone(f"push service answered {status}: subscription expired") from exc
        raise PushError(f"push service refused (HTTP {status})") from exc
    except requests.RequestException as exc:
        raise PushError(f"push service unreachable: {type(exc).__name__}") from exc
