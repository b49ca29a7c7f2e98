"""Late entries in the admin: the coordinator of her site accepts or declines, with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone

from diary.models import Assessment, LateEntry, LateEntryStatus, Response
from diary.services.drafts import draft_save
from diary.services.late_entries import late_entry_keep
from tests.diary.journey import open_assessment

pytestmark = pytest.mark.django_db

LATE_ENTRIES = "/admin/diary/lateentry/"


@pytest.fixture
def entry(world) -> LateEntry:
    participant = world.participant_a
    assessment = open_assessment(participant)
    started = timezone.now() - timedelta(days=2)
    Assessment.objects.filter(pk=assessment.pk).update(
        opens_at=started - timedelta(days=1), closes_at=started + timedelta(hours=1)
    )
    assessment.refresh_from_db()
    draft_save(
        assessment=assessment,
        instrument_key="vas_dysmenorrhea",
        answers={"vas_dysmenorrhea": 55},
        actor=participant.user,
        now=started,
    )
    now = timezone.now()
    return late_entry_keep(
        participant=participant,
        assessment_id=assessment.pk,
        actor=participant.user,
        device_time=now,
        confirm_unanswered=True,
        now=now,
    )


def act(client, action: str, entry: LateEntry, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [entry.pk], **extra}
    return client.post(LATE_ENTRIES, data)


def test_the_coordinator_accepts_a_late_entry_with_her_reason(client, world, entry):
    client.force_login(world.coordinator1)
    listing = client.get(LATE_ENTRIES).content.decode()
    assert "S01-001" in listing and "Waiting for review" in listing
    page = act(client, "accept", entry)
    assert page.status_code == 200 and "Accept late entries" in page.content.decode()
    act(client, "accept", entry, confirm="yes", reason="No signal in hospital")
    entry.refresh_from_db()
    assert (entry.status, entry.review_reason) == ("accepted", "No signal in hospital")
    assert Response.objects.filter(assessment=entry.assessment).count() == 2


def test_the_coordinator_declines_a_late_entry(client, world, entry):
    client.force_login(world.coordinator1)
    act(client, "decline", entry, confirm="yes", reason="Entered a month late")
    entry.refresh_from_db()
    assert entry.status == LateEntryStatus.DECLINED
    assert not Response.objects.exists()


def test_another_sites_coordinator_neither_sees_nor_reviews_it(client, world, entry):
    client.force_login(world.coordinator2)
    assert "S01-001" not in client.get(LATE_ENTRIES).content.decode()
    act(client, "accept", entry, confirm="yes", reason="x")
    entry.refresh_from_db()
    assert entry.status == LateEntryStatus.PENDING
    assert not Response.objects.exists()


def test_the_monitor_reads_it_but_cannot_decide(client, world, entry):
    client.force_login(world.monitor)
    assert "S01-001" in client.get(LATE_ENTRIES).content.decode()
    response = act(client, "accept", entry, confirm="yes", reason="x")
    assert response.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.status == LateEntryStatus.PENDING
