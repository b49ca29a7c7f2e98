"""Her reminder channel and mobile number: contact data, kept with her e-mail address.

Never clinical data: ParticipantContact is not exported and the audit trail records only which
channel she chose and whether a number is on file, never the number.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from diary.models import AuditAction, Participant, ParticipantContact, ReminderChannel
from diary.rules.phone import PhoneInvalid, phone_e164
from diary.services.audit import audit_record


@transaction.atomic
def reminder_preferences_set(
    *, participant: Participant, channel: str, phone: str, now: datetime
) -> ParticipantContact:
    """Set how she is reminded and her mobile number (blank: none), as she typed it.

    Raises ValidationError (keyed by field) for an unknown channel, text that is not a mobile
    number (diary.rules.phone), or SMS without a number; nothing is stored then. Her e-mail
    address is untouched: it stays the fallback of every channel.
    """
    if channel not in ReminderChannel.values:
        raise ValidationError({"channel": "Choose e-mail, text message or notifications."})
    number = ""
    if phone.strip():
        try:
            number = phone_e164(phone, region=settings.SMS_DEFAULT_REGION)
        except PhoneInvalid as exc:
            raise ValidationError({"phone": str(exc)}) from exc
    if channel == ReminderChannel.SMS and not number:
        raise ValidationError({"phone": "Enter your mobile number to get text messages."})
    contact = ParticipantContact.objects.select_for_update(no_key=True, of=("self",)).get(
        participant=participant
    )
    if (contact.reminder_channel, contact.phone) == (channel, number):
        return contact
    contact.reminder_channel, contact.phone = channel, number
    contact.full_clean(exclude=["participant", "email"])
    contact.save(update_fields=["reminder_channel", "phone"])
    audit_record(
        action=AuditAction.REMINDER_CHANNEL_SET,
        actor=participant.user,
        participant=participant,
        occurred_at=now,
        details={"channel": channel, "phone_on_file": bool(number)},
    )
    return contact
