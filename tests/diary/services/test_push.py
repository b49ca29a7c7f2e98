"""Web push: subscriptions stored for her own account only, and pushes encrypted for her browser,
POSTed to a local fake push service (never a real one)."""

from __future__ import annotations

import base64
import json

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from django.utils import timezone

from diary.models import AuditAction, AuditEvent, PushSubscription
from diary.services.push import (
    PushError,
    PushGone,
    PushSubscriptionForeign,
    PushSubscriptionInvalid,
    push_send,
    push_subscription_save,
    push_subscriptions_remove,
)
from tests.diary.push_helpers import FakeBrowser, FakePushService

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    fake = FakePushService()
    yield fake
    fake.close()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _vapid_token_verifies(authorization: str) -> dict:
    """The VAPID JWT's claims, after checking its ES256 signature with the server's public key
    (RFC 8292: 'vapid t=<jwt>, k=<public key>')."""
    parts = dict(item.strip().split("=", 1) for item in authorization[len("vapid ") :].split(","))
    assert parts["k"] == settings.VAPID_PUBLIC_KEY
    header, claims, signature = parts["t"].split(".")
    raw = _b64decode(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), _b64decode(settings.VAPID_PUBLIC_KEY)
    )
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(_b64decode(claims))


def test_a_push_arrives_encrypted_for_her_browser_with_ttl_and_vapid(world, service):
    browser = FakeBrowser()
    subscription = browser.subscribe(world.participant_a, service.url("/push/device-1"))
    push_send(subscription, title="Study diary", body="A questionnaire is waiting.", url="/d/")

    (received,) = service.received
    assert received.path == "/push/device-1"
    assert received.headers["content-encoding"] == "aes128gcm"
    assert received.headers["ttl"] == str(settings.PUSH_TTL_SECONDS)
    assert b"questionnaire" not in received.body  # encrypted on the wire
    assert browser.decrypt(received.body) == {
        "title": "Study diary",
        "body": "A questionnaire is waiting.",
        "url": "/d/",
    }
    claims = _vapid_token_verifies(received.headers["authorization"])
    assert claims["aud"] == service.url("")
    assert claims["sub"] == settings.VAPID_SUBJECT


def test_another_browser_cannot_read_her_push(world, service):
    subscription = FakeBrowser().subscribe(world.participant_a, service.url("/push/a"))
    push_send(subscription, title="t", body="b", url="/")
    with pytest.raises(http_ece.ECEException, match="Decryption error"):
        FakeBrowser().decrypt(service.received[0].body)


@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_subscription_is_deleted_and_the_removal_recorded(world, service, status):
    service.status = status
    subscription = FakeBrowser().subscribe(world.participant_a, service.url("/push/gone"))
    with pytest.raises(PushGone, match=str(status)):
        push_send(subscription, title="t", body="b", url="/")
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()
    event = AuditEvent.objects.get(action=AuditAction.PUSH_REMOVED)
    assert event.participant == world.participant_a
    assert event.details == {"reason": "expired", "removed": 1}
    assert "push/gone" not in json.dumps(event.details)


def test_a_push_service_error_keeps_the_subscription(world, service):
    service.status = 500
    subscription = FakeBrowser().subscribe(world.participant_a, service.url("/push/busy"))
    with pytest.raises(PushError, match="500"):
        push_send(subscription, title="t", body="b", url="/")
    assert PushSubscription.objects.filter(pk=subscription.pk).exists()


def test_her_subscription_is_stored_once_per_device(world):
    data = FakeBrowser().subscription_json("https://push.example.net/abc")
    first = push_subscription_save(
        participant=world.participant_a, data=data, user_agent="Phone", now=timezone.now()
    )
    again = push_subscription_save(
        participant=world.participant_a, data=data, user_agent="Phone", now=timezone.now()
    )
    assert first.pk == again.pk
    assert PushSubscription.objects.count() == 1
    (event,) = AuditEvent.objects.filter(action=AuditAction.PUSH_SUBSCRIBED)
    assert "push.example.net" not in json.dumps(event.details)


def test_a_device_holding_another_accounts_subscription_is_refused(world):
    data = FakeBrowser().subscription_json("https://push.example.net/shared")
    push_subscription_save(
        participant=world.participant_b, data=data, user_agent="", now=timezone.now()
    )
    with pytest.raises(PushSubscriptionForeign):
        push_subscription_save(
            participant=world.participant_a, data=data, user_agent="", now=timezone.now()
        )
    assert list(PushSubscription.objects.values_list("participant", flat=True)) == [
        world.participant_b.pk
    ]


def _broken(change) -> dict:
    data = FakeBrowser().subscription_json("https://push.example.net/x")
    change(data)
    return data


@pytest.mark.parametrize(
    "data",
    [
        "not an object",
        {},
        _broken(lambda d: d.update(endpoint="http://push.example.net/x")),
        _broken(lambda d: d.update(endpoint="https://user:pw@push.example.net/x")),
        _broken(lambda d: d.update(endpoint="file:///etc/passwd")),
        _broken(lambda d: d.update(endpoint="https://" + "a" * 2000)),
        _broken(lambda d: d.pop("keys")),
        _broken(lambda d: d["keys"].update(p256dh="not base64 !!")),
        _broken(lambda d: d["keys"].update(p256dh="AAAA")),
        _broken(lambda d: d["keys"].update(auth="AAAA")),
        _broken(lambda d: d["keys"].update(auth=123)),
    ],
)
def test_a_malformed_subscription_is_refused_and_nothing_stored(world, data):
    with pytest.raises(PushSubscriptionInvalid):
        push_subscription_save(
            participant=world.participant_a, data=data, user_agent="", now=timezone.now()
        )
    assert not PushSubscription.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.PUSH_SUBSCRIBED).exists()


def test_removing_by_ids_removes_only_her_own(world, service):
    hers = FakeBrowser().subscribe(world.participant_a, service.url("/a"))
    theirs = FakeBrowser().subscribe(world.participant_b, service.url("/b"))
    removed = push_subscriptions_remove(
        participant=world.participant_a, ids=[hers.pk, theirs.pk], reason="logout"
    )
    assert removed == 1
    assert list(PushSubscription.objects.all()) == [theirs]
