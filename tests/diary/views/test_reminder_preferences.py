"""Her reminder settings page and the push subscription endpoints: her own account only,
bad input refused with nothing stored, and logging out removes this device's subscription."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from diary.models import (
    AuditAction,
    AuditEvent,
    ParticipantContact,
    PushSubscription,
    ReminderChannel,
)
from tests.diary.push_helpers import FakeBrowser

pytestmark = pytest.mark.django_db

PAGE = "diary:reminder_preferences"


@pytest.fixture(autouse=True)
def _english_afterwards():
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _contact(participant) -> ParticipantContact:
    return ParticipantContact.objects.get(participant=participant)


def _subscribe(client: Client, data) -> object:
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(reverse("diary:push_subscribe"), body, content_type="application/json")


def test_the_page_offers_email_sms_and_notifications(client, world):
    client.force_login(world.participant_a.user)
    text = client.get(reverse(PAGE)).content.decode()
    for label in ("By e-mail", "By text message (SMS)", "Turn on notifications on this device"):
        assert label in text
    assert f'data-vapid-key="{settings.VAPID_PUBLIC_KEY}"' in text
    assert "diary/push.js" in text


def test_she_chooses_sms_and_her_number_is_kept_in_e164(client, world):
    client.force_login(world.participant_a.user)
    response = client.post(reverse(PAGE), {"channel": "sms", "phone": "+45 20 12 34 56"})
    assert response.status_code == 302
    contact = _contact(world.participant_a)
    assert (contact.reminder_channel, contact.phone) == ("sms", "+4520123456")
    event = AuditEvent.objects.get(action=AuditAction.REMINDER_CHANNEL_SET)
    assert event.details == {"channel": "sms", "phone_on_file": True}
    assert "2012" not in json.dumps(event.details)


@pytest.mark.parametrize(
    ("phone", "says"),
    [
        ("not a number", "This is not a phone number."),
        ("12345", "country code"),
        ("+44 20 7946 0958", "landline"),
        ("", "Enter your mobile number to get text messages."),
    ],
)
def test_a_number_that_is_not_a_mobile_number_is_refused_and_nothing_stored(
    client, world, phone, says
):
    client.force_login(world.participant_a.user)
    response = client.post(reverse(PAGE), {"channel": "sms", "phone": phone})
    assert response.status_code == 200
    assert says in response.content.decode()
    contact = _contact(world.participant_a)
    assert (contact.reminder_channel, contact.phone) == (ReminderChannel.EMAIL, "")
    assert not AuditEvent.objects.filter(action=AuditAction.REMINDER_CHANNEL_SET).exists()


def test_an_unknown_channel_is_refused(client, world):
    client.force_login(world.participant_a.user)
    response = client.post(reverse(PAGE), {"channel": "carrier-pigeon", "phone": ""})
    assert response.status_code == 200
    assert _contact(world.participant_a).reminder_channel == ReminderChannel.EMAIL


def test_staff_reach_neither_the_page_nor_the_endpoints(client, world):
    client.force_login(world.coordinator1)
    assert client.post(reverse(PAGE), {"channel": "sms", "phone": "+4520123456"}).status_code == 302
    data = FakeBrowser().subscription_json("https://push.example.net/staff")
    assert _subscribe(client, data).status_code == 302
    assert not PushSubscription.objects.exists()
    assert _contact(world.participant_a).phone == ""


def test_a_stranger_is_sent_to_the_login(client, world):
    data = FakeBrowser().subscription_json("https://push.example.net/anon")
    response = _subscribe(client, data)
    assert response.status_code == 302 and reverse("diary:login") in response["Location"]
    assert not PushSubscription.objects.exists()


def test_her_device_is_subscribed_for_her_own_account(client, world):
    client.force_login(world.participant_a.user)
    data = FakeBrowser().subscription_json("https://push.example.net/hers")
    response = _subscribe(client, data)
    assert response.status_code == 201
    (subscription,) = PushSubscription.objects.all()
    assert subscription.participant == world.participant_a
    assert "1 device" in client.get(reverse(PAGE)).content.decode()


def test_a_subscription_held_by_another_account_is_refused_and_nothing_stored(client, world):
    data = FakeBrowser().subscription_json("https://push.example.net/shared-tablet")
    other = Client()
    other.force_login(world.participant_b.user)
    assert _subscribe(other, data).status_code == 201
    client.force_login(world.participant_a.user)
    response = _subscribe(client, data)
    assert response.status_code == 409
    assert "another account" in response.json()["error"]
    assert list(PushSubscription.objects.values_list("participant", flat=True)) == [
        world.participant_b.pk
    ]


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"endpoint": "https://push.example.net/x"}),
        json.dumps({"endpoint": "http://10.0.0.1/admin", "keys": {"p256dh": "x", "auth": "y"}}),
        json.dumps({"endpoint": "https://push.example.net/x", "pad": "x" * 5000}),
    ],
)
def test_a_malformed_subscription_is_refused_with_a_reason(client, world, body):
    client.force_login(world.participant_a.user)
    response = _subscribe(client, body)
    assert response.status_code == 400
    assert response.json()["error"]
    assert not PushSubscription.objects.exists()


def test_logging_out_removes_this_devices_subscription_only(client, world):
    hers_elsewhere = FakeBrowser().subscribe(world.participant_a, "https://push.example.net/lap")
    client.force_login(world.participant_a.user)
    assert _subscribe(client, FakeBrowser().subscription_json("https://push.example.net/ph"))
    assert PushSubscription.objects.count() == 2
    client.post(reverse("diary:logout"))
    assert list(PushSubscription.objects.all()) == [hers_elsewhere]
    event = AuditEvent.objects.get(action=AuditAction.PUSH_REMOVED)
    assert event.details == {"reason": "logout", "removed": 1}


def test_turning_off_removes_only_her_own_subscription(client, world):
    theirs = FakeBrowser().subscribe(world.participant_b, "https://push.example.net/b")
    client.force_login(world.participant_a.user)
    response = client.post(
        reverse("diary:push_unsubscribe"),
        json.dumps({"endpoint": theirs.endpoint}),
        content_type="application/json",
    )
    assert response.json() == {"removed": 0}
    assert PushSubscription.objects.filter(pk=theirs.pk).exists()


def test_notifications_use_the_diarys_one_service_worker(client, world):
    """Browsers keep one worker per scope: the push controls subscribe with the offline worker
    at the site root, and the second, push-only worker is gone."""
    client.force_login(world.participant_a.user)
    text = client.get(reverse(PAGE)).content.decode()
    assert 'data-service-worker="/sw.js"' in text
    assert 'data-scope="/"' in text
    assert client.get("/diary/push/sw.js").status_code == 404


def test_without_an_sms_provider_text_messages_are_not_offered(client, world, settings):
    settings.SMS_BACKEND = "diary.services.sms.DisabledBackend"
    client.force_login(world.participant_a.user)
    assert "By text message (SMS)" not in client.get(reverse(PAGE)).content.decode()
    response = client.post(reverse(PAGE), {"channel": "sms", "phone": "+4520123456"})
    assert response.status_code == 200
    assert _contact(world.participant_a).reminder_channel == ReminderChannel.EMAIL
