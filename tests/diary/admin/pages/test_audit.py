"""Inspector views: a participant's timeline (events + row history) and the audit CSV."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diary.models import AuditAction, AuditChainCheck, AuditEvent
from diary.services.audit import audit_record
from diary.services.exports import ExportRequest, export_start
from diary.services.periods import period_end_report, period_start_report
from tests.export_fingerprints import unblinded_export_run
from tests.scoring.submitting import submit

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


# --- An unblinded export's fingerprint (issue 13, item 1) ---------------------------------------
def text_of(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode(errors="replace")


@pytest.fixture
def exported(reported):
    """Participant A's first questionnaire submitted, then the statistician's unblinded
    export of the study (wide and long, so a zip with a manifest)."""
    submit(reported.participant_a, number=1)
    return unblinded_export_run(study=reported.study, user=reported.statistician)


def trail_pages(client, user, world) -> dict[str, str]:
    """Every view of the audit trail this user can open: the audit list and each event's page,
    the audit CSV, every participant's timeline and the system audit view with its CSV."""
    client.force_login(user)
    urls = [
        reverse("admin:diary_auditevent_changelist"),
        reverse("admin:audit_export") + "?download=1",
        reverse("admin:audit_export") + "?download=1&action=exported",
        reverse("admin:system_audit"),
        reverse("admin:system_audit") + "?action=exported",
        reverse("admin:system_audit") + "?download=1",
        *(
            reverse("admin:diary_auditevent_change", args=[pk])
            for pk in AuditEvent.objects.values_list("pk", flat=True)
        ),
        *(
            reverse("admin:audit_timeline", args=[p.pk])
            for p in (world.participant_a, world.participant_b)
        ),
    ]
    pages = {}
    for url in urls:
        response = client.get(url)
        if response.status_code == 200:
            pages[url] = text_of(response)
    return pages


@pytest.mark.parametrize("who", ["monitor", "coordinator1", "admin"])
def test_no_blinded_view_of_the_trail_holds_an_unblinded_exports_fingerprint(
    client, exported, reported, who
):
    """The attack: a blinded reader takes the unblinded file's hash (or size) from the trail
    and matches it against the blinded file plus every candidate allocation."""
    pages = trail_pages(client, getattr(reported, who), reported)
    # The pages were read: her list, her CSV and her timeline at least.
    assert reverse("admin:audit_export") + "?download=1" in pages
    assert reverse("admin:diary_auditevent_changelist") in pages
    found = {url: kinds for url, text in pages.items() if (kinds := exported.found_in(text))}
    assert found == {}
    # Not even that an unblinded export happened, nor when.
    event_page = reverse("admin:diary_auditevent_change", args=[exported.event.pk])
    assert event_page not in pages


def test_the_statistician_does_read_her_unblinded_exports_fingerprint(client, exported, reported):
    """The check can fail: the unblinded reader's trail holds the fingerprint."""
    pages = trail_pages(client, reported.statistician, reported)
    csv_text = pages[reverse("admin:audit_export") + "?download=1"]
    assert {"sha256", "bytes"} <= {kind.split()[0] for kind in exported.found_in(csv_text)}
    assert reverse("admin:diary_auditevent_change", args=[exported.event.pk]) in pages


def test_a_blinded_export_stays_in_the_blinded_trail(client, reported):
    submit(reported.participant_a, number=1)
    export = export_start(
        user=reported.monitor,
        request=ExportRequest(study=reported.study, kinds=("wide",), blinded=True),
    )
    b"".join(export.chunks)
    event = AuditEvent.objects.get(action=AuditAction.EXPORTED)
    assert event.unblinded is False
    rows = download(client, reported.coordinator1, action="exported")
    assert [json.loads(row["details"])["files"][0]["sha256"] for row in rows[:1]] == [
        event.details["files"][0]["sha256"]
    ]


def test_a_download_that_counted_unblinded_events_is_unblinded_itself(client, exported, reported):
    """Her audit CSV's row count includes unblinded events: computed from unblinded content."""
    download(client, reported.statistician)
    mine = AuditEvent.objects.filter(action=AuditAction.EXPORTED, details__kind="audit_trail")
    assert mine.get().unblinded is True
    download(client, reported.monitor)
    assert mine.filter(actor=reported.monitor).get().unblinded is False


def test_the_timeline_reads_the_events_through_the_access_policy(client, reported):
    """A participant's event stamped unblinded (whatever its kind) is on no blinded timeline."""
    audit_record(
        action=AuditAction.CORRECTED,
        participant=reported.participant_a,
        reason="computed from the allocation",
        unblinded=True,
    )
    for user in (reported.coordinator1, reported.monitor, reported.admin):
        assert (
            b"computed from the allocation"
            not in timeline(client, user, reported.participant_a).content
        )
    shown = timeline(client, reported.statistician, reported.participant_a).content
    assert b"computed from the allocation" in shown


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
