"""How a reminder reaches her: the channel she chose (e-mail, SMS or web push), e-mail otherwise.

E-mail is the fallback whenever the chosen channel has no number or device on file, is not
configured on the server, or fails; what went wrong is recorded on the reminder log (shown on
her admin page and counted on the compliance dashboard), never with her number or address.
Only a failure of the e-mail itself leaves the reminder unsent: the sender then retries it
with the backoff it has always used (diary.services.reminders).

Every text says only that something is waiting in her diary, under the study's neutral public
name: never the condition, the drug, the study title or her answers.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from diary.models import ReminderChannel, ReminderLog
from diary.services.push import PushError, PushGone, push_enabled, push_send
from diary.services.sms import SmsError, sms_send


class EmailFailed(Exception):
    """The e-mail (chosen or fallback) was not sent; `problems` are the other channels'."""

    def __init__(self, error: Exception, problems: list[str]) -> None:
        super().__init__(str(error))
        self.error = error
        self.problems = problems


@dataclass
class Delivery:
    channel: str
    problems: list[str] = field(default_factory=list)

    @property
    def problem(self) -> str:
        return "; ".join(self.problems)


def reminder_link() -> str:
    """The diary's home page. Never a login token: she logs in as usual."""
    return settings.SITE_URL.rstrip("/") + reverse("diary:home")


def _languages(log: ReminderLog) -> tuple[str, list[str]]:
    participant = log.participant
    language = participant.language or participant.study.default_language
    return language, [language, "en"] if language != "en" else ["en"]


def reminder_render(log: ReminderLog) -> tuple[str, str]:
    """The e-mail's (subject, body) in her language, English when there is no template."""
    participant = log.participant
    language, languages = _languages(log)
    context = {
        "url": reminder_link(),
        "closes_at": log.assessment.closes_at if log.assessment is not None else None,
    }
    names = {
        part: [f"diary/email/reminders/{lang}/{log.kind}_{part}.txt" for lang in languages]
        for part in ("subject", "body")
    }
    with translation.override(language), timezone.override(ZoneInfo(participant.time_zone)):
        subject = " ".join(render_to_string(names["subject"], context).split())
        body = render_to_string(names["body"], context)
    return subject, body


def reminder_short_text(log: ReminderLog) -> str:
    """The one-line text of an SMS or a notification, in her language."""
    language, languages = _languages(log)
    names = [f"diary/reminders/short/{lang}/{log.kind}.txt" for lang in languages]
    with translation.override(language):
        return " ".join(render_to_string(names, {}).split())


def reminder_sms_text(log: ReminderLog) -> str:
    """Public name, the line, the link: one SMS segment's worth in English."""
    return f"{log.participant.study.public_name}: {reminder_short_text(log)} {reminder_link()}"


def reminder_push_message(log: ReminderLog) -> dict[str, str]:
    """What a notification shows (title, body) and opens (url): on a lock screen too."""
    return {
        "title": log.participant.study.public_name,
        "body": reminder_short_text(log),
        "url": reminder_link(),
    }


def _sms(log: ReminderLog, problems: list[str]) -> bool:
    phone = log.participant.contact.phone
    if not phone:
        problems.append("SMS chosen, but no mobile number on file")
        return False
    try:
        sms_send(to=phone, body=reminder_sms_text(log))
    except SmsError as exc:
        problems.append(f"SMS failed: {exc}")
        return False
    return True


def _push(log: ReminderLog, problems: list[str]) -> bool:
    if not push_enabled():
        problems.append("Web push chosen, but the server has no VAPID keys")
        return False
    subscriptions = list(log.participant.push_subscriptions.all())
    if not subscriptions:
        problems.append("Web push chosen, but no device has notifications switched on")
        return False
    message = reminder_push_message(log)
    delivered = 0
    for subscription in subscriptions:
        try:
            push_send(subscription, **message)
        except PushGone as exc:
            problems.append(f"Push to a device: {exc}; the subscription was removed")
        except PushError as exc:
            problems.append(f"Push to a device failed: {exc}")
        else:
            delivered += 1
    return delivered > 0


def reminder_deliver(log: ReminderLog) -> Delivery:
    """Send the reminder on her chosen channel, else by e-mail; returns the channel used and
    the problems met on the way. Raises EmailFailed when the e-mail had to be sent and was
    not: nothing reached her then, and the caller retries."""
    contact = log.participant.contact
    problems: list[str] = []
    if contact.reminder_channel == ReminderChannel.SMS and _sms(log, problems):
        return Delivery(ReminderChannel.SMS, problems)
    if contact.reminder_channel == ReminderChannel.PUSH and _push(log, problems):
        return Delivery(ReminderChannel.PUSH, problems)
    subject, body = reminder_render(log)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [contact.email])
    except (smtplib.SMTPException, OSError) as error:
        raise EmailFailed(error, problems) from error
    if problems:
        problems.append("sent by e-mail instead")
    return Delivery(ReminderChannel.EMAIL, problems)
