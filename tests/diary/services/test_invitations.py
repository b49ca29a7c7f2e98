"""Invitation links: one click to confirm, single use, expiring, revoked by a newer link."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from diary.models import AuditAction, AuditEvent, Invitation, ParticipantStatus
from diary.services.invitations import invitation_send
from diary.services.participants import participant_enrol

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plum-orchard-lantern-42"


@pytest.fixture
def invited(world):
    return participant_enrol(
        study=world.study,
        site=world.site1,
        subject_id="S01-009",
        email="new.participant@example.org",
        actor=world.coordinator1,
    )


def sent_token(django_capture_on_commit_callbacks, participant, actor) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        url = invitation_send(participant=participant, actor=actor)
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_invitation_email_carries_a_link_and_no_password(
    invited, world, django_capture_on_commit_callbacks
):
    token = sent_token(django_capture_on_commit_callbacks, invited, world.coordinator1)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.participant@example.org"]
    assert re.search(rf"/diary/invitation/{re.escape(token)}/", message.body)
    assert "expires in 72 hours" in message.body
    # Only a hash is stored.
    assert not Invitation.objects.filter(token_hash=token).exists()


def test_opening_the_link_does_not_use_it(
    client, invited, world, django_capture_on_commit_callbacks
):
    token = sent_token(django_capture_on_commit_callbacks, invited, world.coordinator1)
    url = reverse("diary:invitation", args=[token])
    for _ in range(3):  # a mail scanner prefetching, then the participant
        response = client.get(url)
        assert response.status_code == 200
        assert b"Continue" in response.content
    assert Invitation.objects.get(participant=invited).used_at is None


def test_confirm_then_set_password_activates_and_logs_in(
    client, invited, world, django_capture_on_commit_callbacks
):
    token = sent_token(django_capture_on_commit_callbacks, invited, world.coordinator1)
    response = client.post(reverse("diary:invitation", args=[token]))
    assert response.url == reverse("diary:invitation_password")
    response = client.post(
        reverse("diary:invitation_password"),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("diary:home")
    assert b"Your password is set" in response.content
    invited.refresh_from_db()
    assert invited.status == ParticipantStatus.ACTIVE
    assert invited.user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(
        action=AuditAction.INVITATION_USED, participant=invited
    ).exists()
    # Single use: the same link now refuses.
    client.logout()
    again = client.get(reverse("diary:invitation", args=[token]))
    assert again.status_code == 410
    assert b"already been used" in again.content


def test_weak_password_is_refused_and_the_link_stays_usable(
    client, invited, world, django_capture_on_commit_callbacks
):
    token = sent_token(django_capture_on_commit_callbacks, invited, world.coordinator1)
    client.post(reverse("diary:invitation", args=[token]))
    response = client.post(
        reverse("diary:invitation_password"), {"new_password1": "123", "new_password2": "123"}
    )
    assert response.status_code == 200
    assert b"This password is too short" in response.content
    assert Invitation.objects.get(participant=invited).used_at is None


def test_expired_link_is_refused(client, invited, world, django_capture_on_commit_callbacks):
    token = sent_token(django_capture_on_commit_callbacks, invited, world.coordinator1)
    Invitation.objects.filter(participant=invited).update(
        created_at=timezone.now() - timedelta(days=5),
        expires_at=timezone.now() - timedelta(hours=1),
    )
    response = client.get(reverse("diary:invitation", args=[token]))
    assert response.status_code == 410
    assert b"expired" in response.content


def test_a_new_link_revokes_the_old_one(client, invited, world, django_capture_on_commit_callbacks):
    old = sent_token(django_capture_on_commit_callbacks, invited, world.coordinator1)
    new = sent_token(django_capture_on_commit_callbacks, invited, world.coordinator1)
    assert client.get(reverse("diary:invitation", args=[old])).status_code == 410
    assert client.get(reverse("diary:invitation", args=[new])).status_code == 200
    assert (
        AuditEvent.objects.filter(action=AuditAction.INVITATION_SENT, participant=invited).count()
        == 2
    )


def test_unknown_token_is_refused(client, db):
    response = client.get(reverse("diary:invitation", args=["not-a-real-token"]))
    assert response.status_code == 410


def test_set_password_page_without_a_confirmed_link_is_refused(client, db):
    assert client.get(reverse("diary:invitation_password")).status_code == 410


def test_withdrawn_participant_cannot_be_invited(world):
    participant = world.participant_a
    participant.status = ParticipantStatus.WITHDRAWN
    participant.withdrawn_at = timezone.now()
    participant.withdrawal_reason = "Moved away"
    participant.save()
    with pytest.raises(Exception, match="withdrawn participant cannot be invited"):
        invitation_send(participant=participant, actor=world.coordinator1)


@pytest.mark.parametrize(
    ("purpose", "language", "subject"),
    [
        ("invitation", "en", "Study diary: your invitation to the diary"),
        ("password_reset", "en", "Study diary: set a new password for your diary"),
        ("invitation", "da", "Study diary: din invitation til dagbogen"),
        ("password_reset", "da", "Study diary: vælg en ny adgangskode til din dagbog"),
    ],
)
def test_the_subject_names_the_studys_neutral_name_never_its_title(
    invited, world, django_capture_on_commit_callbacks, purpose, language, subject
):
    """Attack: the subject, shown on a lock screen, carried the study's title, which names the
    drug and the diagnosis."""
    world.study.name = "Anakinra for dysmenorrhea in endometriosis"
    world.study.save(update_fields=["name"])
    invited.language = language
    invited.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        invitation_send(participant=invited, actor=world.coordinator1, purpose=purpose)
    message = mail.outbox[-1]
    assert message.subject == subject
    for revealing in ("Anakinra", "endometriosis", "dysmenorrhea", world.study.code):
        assert revealing not in message.subject and revealing not in message.body


def test_the_neutral_name_is_the_studys_own(invited, world, django_capture_on_commit_callbacks):
    world.study.public_name = "Women's health diary"
    world.study.save(update_fields=["public_name"])
    with django_capture_on_commit_callbacks(execute=True):
        invitation_send(participant=invited, actor=world.coordinator1)
    assert mail.outbox[-1].subject == "Women's health diary: your invitation to the diary"


def test_links_lead_to_the_configured_site(
    invited, world, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "http://127.0.0.1:8001/"
    with django_capture_on_commit_callbacks(execute=True):
        url = invitation_send(participant=invited, actor=world.coordinator1)
    assert url.startswith("http://127.0.0.1:8001/diary/invitation/")
    assert url in mail.outbox[-1].body
