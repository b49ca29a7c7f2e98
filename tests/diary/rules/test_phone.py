"""Mobile numbers for SMS reminders: what she types, stored as E.164, or refused with a reason."""

from __future__ import annotations

import subprocess
import sys

import pytest

from diary.rules.phone import PhoneInvalid, phone_e164, phone_masked


@pytest.mark.parametrize(
    ("typed", "region", "stored"),
    [
        ("+45 20 12 34 56", None, "+4520123456"),
        ("+45 2012-3456", None, "+4520123456"),
        ("0045 20 12 34 56", "DK", "+4520123456"),
        ("20 12 34 56", "DK", "+4520123456"),
        ("+44 7911 123456", None, "+447911123456"),
        ("(201) 555-0123", "US", "+12015550123"),
    ],
)
def test_a_mobile_number_is_kept_in_e164(typed, region, stored):
    assert phone_e164(typed, region=region) == stored


@pytest.mark.parametrize(
    ("typed", "region", "says"),
    [
        ("not a number", None, "not a phone number"),
        ("", None, "Enter a phone number"),
        ("12345", None, "country code"),
        ("20 12 34 56", None, "country code"),
        ("+45 12", None, "not a valid phone number"),
        ("+45 99 99 99 99 99 99", None, "not"),
        ("+44 20 7946 0958", None, "landline"),
        ("'; DROP TABLE diary_participantcontact; --", None, "not a phone number"),
    ],
)
def test_text_that_is_not_a_mobile_number_is_refused_with_a_reason(typed, region, says):
    with pytest.raises(PhoneInvalid, match=says):
        phone_e164(typed, region=region)


def test_a_masked_number_shows_only_the_country_code_and_last_two_digits():
    assert phone_masked("+4520123456") == "+45******56"


def test_the_phone_rules_load_no_django():
    code = "import sys, diary.rules.phone; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
