"""Sending SMS through a pluggable backend, the way Django sends e-mail (EMAIL_BACKEND).

settings.SMS_BACKEND names the class:
- diary.services.sms.ConsoleBackend: prints each message (the default with DEBUG);
- diary.services.sms.LocmemBackend: keeps them in `outbox` (the test settings');
- diary.services.sms.TwilioBackend: Twilio's REST API, configured by SMS_TWILIO_ACCOUNT_SID,
  SMS_TWILIO_AUTH_TOKEN and SMS_FROM (the default without DEBUG when the account is set; the
  settings fail loudly when it is chosen without all three);
- diary.services.sms.DisabledBackend: SMS not offered (the default without DEBUG otherwise).

A backend raises SmsError when a message was not accepted; the reminder sender then falls back
to e-mail and records why (diary.services.reminder_delivery). The recipient's number never
appears in an error text: errors reach the reminder log, which blinded staff read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import ClassVar

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from diary.rules.phone import phone_masked


class SmsError(Exception):
    """The provider did not accept the message; the text says why, without the number."""


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str


class BaseBackend:
    def send(self, message: SmsMessage) -> str:
        """Hand the message over; returns the provider's id for it. Raises SmsError."""
        raise NotImplementedError


class DisabledBackend(BaseBackend):
    """No provider configured (the production default without SMS_TWILIO_ACCOUNT_SID): SMS is
    not offered, and a reminder for someone who chose it earlier goes by e-mail."""

    def send(self, message: SmsMessage) -> str:
        raise SmsError("SMS is not configured on this server")


class ConsoleBackend(BaseBackend):
    """Development: writes the message to standard output (the number masked)."""

    def send(self, message: SmsMessage) -> str:
        sys.stdout.write(f"SMS to {phone_masked(message.to)}:\n{message.body}\n{'-' * 40}\n")
        sys.stdout.flush()
        return "console"


class LocmemBackend(BaseBackend):
    """Tests: keeps every message in LocmemBackend.outbox, as Django's locmem e-mail backend
    keeps mail.outbox. `fail_with` makes every send raise SmsError with that text."""

    outbox: ClassVar[list[SmsMessage]] = []
    fail_with: ClassVar[str] = ""

    def send(self, message: SmsMessage) -> str:
        if self.fail_with:
            raise SmsError(self.fail_with)
        self.outbox.append(message)
        return f"locmem-{len(self.outbox)}"


class TwilioBackend(BaseBackend):
    """Twilio's Messages API (POST .../Accounts/{sid}/Messages.json, basic auth).

    The base URL is a setting (SMS_TWILIO_API_URL) so that tests point it at a local server.
    """

    def __init__(self) -> None:
        self.sid = settings.SMS_TWILIO_ACCOUNT_SID
        self.token = settings.SMS_TWILIO_AUTH_TOKEN
        self.sender = settings.SMS_FROM
        if not (self.sid and self.token and self.sender):
            raise ImproperlyConfigured(
                "SMS_BACKEND is the Twilio backend: SMS_TWILIO_ACCOUNT_SID, SMS_TWILIO_AUTH_TOKEN "
                "and SMS_FROM must be set"
            )
        base = settings.SMS_TWILIO_API_URL.rstrip("/")
        self.url = f"{base}/2010-04-01/Accounts/{self.sid}/Messages.json"

    def send(self, message: SmsMessage) -> str:
        try:
            response = requests.post(
                self.url,
                data={"To": message.to, "From": self.sender, "Body": message.body},
                auth=(self.sid, self.token),
                timeout=settings.SMS_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise SmsError(f"provider unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            # Twilio's error JSON has a numeric code and a message, which may quote the number.
            try:
                detail = response.json()
            except ValueError:
                detail = {}
            code = detail.get("code", "") if isinstance(detail, dict) else ""
            text = str(detail.get("message", "")) if isinstance(detail, dict) else ""
            text = text.replace(message.to, phone_masked(message.to))[:200]
            raise SmsError(f"provider refused (HTTP {response.status_code} {code}): {text}")
        try:
            return str(response.json().get("sid", ""))
        except ValueError:
            return ""


def sms_backend() -> BaseBackend:
    """An instance of settings.SMS_BACKEND."""
    return import_string(settings.SMS_BACKEND)()


def sms_enabled() -> bool:
    """Whether the SMS channel is offered to participants."""
    return settings.SMS_BACKEND != "diary.services.sms.DisabledBackend"


def sms_send(*, to: str, body: str) -> str:
    """Send one SMS to an E.164 number through the configured backend; returns the provider's
    id. Raises SmsError when it was not accepted; nothing is retried here."""
    return sms_backend().send(SmsMessage(to=to, body=body))
