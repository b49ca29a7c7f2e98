"""Emergency unblinding: a deliberate permission, a reason, the trail and an e-mail."""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from diary.models import AuditAction, AuditEvent
from diary.services.unblinding import participant_unblind

pytestmark = pytest.mark.django_db

REASON = "Anaphylaxis in the emergency department; treating physician needs to know"


@pytest.fixture
def investigator(world):
    """coordinator1, granted the emergency permission by an administrator."""
    user = world.coordinator1
    user.user_permissions.add(Permission.objects.get(codename="emergency_unblind"))
    world.statistician.email = "stats@example.org"
    world.statistician.save()
    return user


def unblind(client, user, **data):
    client.force_login(user)
    return client.post(
        reverse("admin:unblinding"),
        {"study_id": "S01-001", "reason": REASON, "confirm": "on", **data},
    )


def test_authorised_investigator_sees_the_treatment_of_each_period(
    client, world, investigator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = unblind(client, investigator)
    text = response.content.decode()
    assert response.status_code == 200
    assert "S01-001: sequence AP" in text
    assert text.count("A — Anakinra 100 mg") == 3 and text.count("P — Placebo") == 3
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=AuditAction.UNBLINDED)
    assert (event.actor, event.participant, event.reason) == (
        investigator,
        world.participant_a,
        REASON,
    )
    # The trail records that it happened, never what it revealed.
    assert "Anakinra" not in str(event.details) and "AP" not in str(event.details)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["stats@example.org"]
    assert "S01-001" in mail.outbox[0].subject and REASON in mail.outbox[0].body


def test_a_reason_is_required(client, investigator):
    response = unblind(client, investigator, reason="because")
    assert b"Anakinra" not in response.content
    assert b"at least 15 characters" in response.content
    assert not AuditEvent.objects.filter(action=AuditAction.UNBLINDED).exists()


def test_confirmation_is_required(client, investigator):
    response = unblind(client, investigator, confirm="")
    assert b"Anakinra" not in response.content
    assert not AuditEvent.objects.filter(action=AuditAction.UNBLINDED).exists()


def test_participant_of_another_site_cannot_be_unblinded(client, investigator):
    response = unblind(client, investigator, study_id="S02-001")
    assert b"No participant with this study ID at your sites" in response.content
    assert b"Placebo" not in response.content


@pytest.mark.parametrize("who", ["coordinator2", "monitor", "statistician", "admin"])
def test_without_the_permission_the_page_does_not_exist(client, world, who):
    response = unblind(client, getattr(world, who))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.UNBLINDED).exists()


def test_participants_never_reach_it(client, world):
    response = unblind(client, world.participant_a.user)
    assert response.status_code == 302
    assert b"Anakinra" not in response.content


def test_the_grant_without_a_membership_opens_nothing(client, world):
    """Granted by name to staff without a study role: no page, and the service refuses."""
    world.outsider.user_permissions.add(Permission.objects.get(codename="emergency_unblind"))
    assert unblind(client, world.outsider).status_code == 404
    outsider = type(world.outsider).objects.get(pk=world.outsider.pk)
    with pytest.raises(PermissionDenied):
        participant_unblind(participant=world.participant_a, actor=outsider, reason=REASON)
    assert not AuditEvent.objects.filter(action=AuditAction.UNBLINDED).exists()
