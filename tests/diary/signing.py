"""What the tests of casebook signing share: her investigator's authenticator app and its codes,
a casebook to sign, and a study with signing milestones. The fixtures are made available to
tests/diary by its conftest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary.selectors.periods import local_today
from diary.services.periods import period_start_report
from tests.scoring.submitting import submit


def code(device: TOTPDevice, *, offset: int = 0, later: int = 0) -> str:
    """Her app's code now (`later`: one time step on, as a second signature within the same
    30 seconds needs: django-otp accepts a code once)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=later)
    return f"{(value + offset) % 1_000_000:06d}"


@pytest.fixture
def device(world) -> TOTPDevice:
    return TOTPDevice.objects.create(user=world.investigator1, name="app", confirmed=True)


@pytest.fixture
def casebook(world):
    """Her first period reported (started two days ago), its questionnaires submitted."""
    participant = world.participant_a
    period_start_report(
        participant=participant,
        started_on=local_today(participant, timezone.now()) - timedelta(days=2),
        actor=participant.user,
    )
    return submit(participant, vas=70)


@pytest.fixture
def milestones(world):
    """Her study signs after period 1 and after period 2."""
    study = world.participant_a.study
    study.signing_milestones = [
        {"after_period": 1, "label": "After period 1"},
        {"after_period": 2, "label": "After period 2"},
    ]
    study.full_clean()
    study.save()
    world.participant_a.refresh_from_db()
    return study
