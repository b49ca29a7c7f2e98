"""Inspector views: a participant's timeline (events + row history) and the audit CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diary.models import AuditAction, AuditChainCheck, AuditEvent
from diary.services.periods import period_end_report, period_start_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(world):
    participant = world.participant_a
    today = timezone.now().date()
    period = period_start_report(
        participant=participant, started_on=today - timedelta(days=3), actor=participant.user
    )
    period_end_report(period=period, ended_on=today, actor=participant.user)
    return world


def timeline(client, user, participant):
    client.force_login(user)
    return client.get(reverse("admin:audit_timeline", args=[participant.pk]))


def test_timeline_shows_business_events_and_old_and_new_values(client, reported):
    response = timeline(client, reported.coordinator1, reported.participant_a)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Participant enrolled" in text
    assert "Period reported" in text
    # Row history of the assessment: its status moved from scheduled to open.
    assert "Assessment #" in text
    assert "scheduled → open" in text


def test_timeline_of_another_sites_participant_is_404(client, reported):
    response = timeline(client, reported.coordinator2, reported.participant_a)
    assert response.status_code == 404


def test_timeline_hides_allocation_history_from_blinded_staff(client, reported):
    blinded = timeline(client, reported.monitor, reported.participant_a).content.decode()
    assert "Allocation #" not in blinded
    assert "sequence" not in blinded
    unblinded = timeline(client, reported.statistician, reported.participant_a).content.decode()
    assert "Allocation #" in unblinded


@pytest.mark.parametrize("who", ["outsider", "participant"])
def test_timeline_is_closed_to_non_members(client, reported, who):
    user = reported.outsider if who == "outsider" else reported.participant_a.user
    response = timeline(client, user, reported.participant_a)
    assert response.status_code in {302, 404}
    assert b"Period reported" not in response.content


def download(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("admin:audit_export"), {"download": "1", **params})
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_audit_csv_is_scoped_to_her_site_and_is_itself_audited(client, reported):
    rows = download(client, reported.coordinator1)
    assert {row["study_id"] for row in rows} - {""} == {"S01-001"}
    assert all(row["occurred_at_utc"].endswith("Z") for row in rows)
    event = AuditEvent.objects.filter(action=AuditAction.EXPORTED).get()
    assert event.actor == reported.coordinator1
    assert event.details["kind"] == "audit_trail"
    assert event.details["rows"] == len(rows)


def test_audit_csv_filters_by_action_and_participant(client, reported):
    rows = download(client, reported.monitor, action="period_reported", study_id="S01-001")
    assert [row["action"] for row in rows] == ["period_reported", "period_reported"]


def test_audit_csv_form_refuses_strangers(client, reported):
    client.force_login(reported.outsider)
    assert client.get(reverse("admin:audit_export")).status_code == 404
    client.logout()
    response = client.get(reverse("admin:audit_export"))
    assert response.status_code == 302


def test_audit_page_says_when_the_chain_last_passed(client, world):
    client.force_login(world.coordinator1)
    page = client.get(reverse("admin:audit_export")).content.decode()
    assert "has not passed a check yet" in page
    passed = AuditChainCheck.objects.create(passed=True, links=10, seconds=0.1)
    AuditChainCheck.objects.create(
        passed=False, links=11, seconds=0.1, first_problem="diary_auditevent#3 altered", problems=1
    )
    page = client.get(reverse("admin:audit_export")).content.decode()
    assert f"last passed its check on {passed.checked_at:%Y-%m-%d %H:%M} UTC" in page
    assert "failed</strong>" in page
    # What the check found is not shown: it may name rows of tables blinded staff never see.
    assert "diary_auditevent#3" not in page
