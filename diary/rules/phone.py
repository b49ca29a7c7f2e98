"""Phone numbers for SMS reminders, in E.164 form. Pure: no Django import.

A participant types her number as she knows it ("20 12 34 56", "+45 2012 3456"); the number is
kept in E.164 ("+4520123456"), the one form every SMS provider accepts. A number without a
country code is read in `region` (settings.SMS_DEFAULT_REGION) when one is given.
"""

from __future__ import annotations

import phonenumbers


class PhoneInvalid(ValueError):
    """The text is not a phone number that can receive an SMS; the message says why."""


def phone_e164(raw: str, *, region: str | None = None) -> str:
    """The number in E.164 form. Raises PhoneInvalid for text that is not a valid number,
    a number without a country code when no region is given, and a fixed-line number (which
    cannot receive an SMS)."""
    text = raw.strip()
    if not text:
        raise PhoneInvalid("Enter a phone number.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise PhoneInvalid(
                "Enter the number with its country code, for example +45 20 12 34 56."
            ) from exc
        raise PhoneInvalid("This is not a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneInvalid("This is not a valid phone number.")
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        raise PhoneInvalid("This is a landline number: it cannot receive text messages.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_masked(e164: str) -> str:
    """The number with all but its last two digits hidden, for error texts and lists."""
    if len(e164) <= 4:
        return "*" * len(e164)
    return e164[:3] + "*" * (len(e164) - 5) + e164[-2:]
