"""The signals pages: scope, definitions shown, review and query through the page, the query
list and its CSV, thresholds; refusals are 404 or a message, and nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from diary.models import (
    AuditAction,
    AuditEvent,
    DataQuery,
    SignalReview,
    StudySignalSettings,
)
from diary.services.signals import query_raise

pytestmark = pytest.mark.django_db

SIGNALS = "/admin/signals/"
QUERIES = "/admin/signals/queries/"


def participant_url(participant) -> str:
    return f"/admin/signals/participant/{participant.pk}/"


def night_entry(participant) -> None:
    AuditEvent.objects.create(
        occurred_at=datetime(2026, 1, 10, 1, 0, tzinfo=UTC),
        actor=participant.user,
        action=AuditAction.SUBMITTED,
        participant=participant,
        study=participant.study,
        object_id="1",
        unblinded=False,
    )


def test_the_monitor_sees_every_site_with_the_definitions(client, world):
    client.force_login(world.monitor)
    page = client.get(SIGNALS).content.decode()
    assert "S01-001" in page and "S02-001" in page
    assert "Definitions and thresholds" in page
    assert "between 00:00 and 05:00 in her time zone" in page


def test_a_coordinator_sees_her_site_only(client, world):
    client.force_login(world.coordinator2)
    page = client.get(SIGNALS).content.decode()
    assert "S02-001" in page and "S01-001" not in page
    assert client.get(participant_url(world.participant_a)).status_code == 404


def test_staff_without_a_study_role_get_404(client, world):
    client.force_login(world.outsider)
    for url in (SIGNALS, QUERIES, participant_url(world.participant_a)):
        assert client.get(url).status_code == 404, url


def test_the_monitor_signs_a_signal_off_through_the_page(client, world):
    client.force_login(world.monitor)
    url = participant_url(world.participant_a)
    page = client.get(url).content.decode()
    assert 'name="value_seen" value="0"' in page
    response = client.post(
        url, {"action": "review", "signal": "clock", "value_seen": "0", "comment": "Checked"}
    )
    assert response.status_code == 302
    review = SignalReview.objects.get()
    assert (review.signal, review.comment, review.reviewed_by) == (
        "clock",
        "Checked",
        world.monitor,
    )
    assert "Checked" in client.get(url).content.decode()


def test_a_review_of_a_signal_that_changed_says_so_and_stores_nothing(client, world):
    client.force_login(world.monitor)
    night_entry(world.participant_a)
    response = client.post(
        participant_url(world.participant_a),
        {"action": "review", "signal": "unusual_hours", "value_seen": "0", "comment": "ok"},
    )
    assert response.status_code == 400
    assert "changed since you opened it: it was 0, it is now 1" in response.content.decode()
    assert not SignalReview.objects.exists()


def test_a_coordinator_cannot_review(client, world):
    client.force_login(world.coordinator1)
    url = participant_url(world.participant_a)
    assert 'value="review"' not in client.get(url).content.decode()
    response = client.post(
        url, {"action": "review", "signal": "clock", "value_seen": "0", "comment": "x"}
    )
    assert response.status_code == 400
    assert not SignalReview.objects.exists()


def test_the_monitor_raises_a_query_and_the_site_answers_it(client, world):
    client.force_login(world.monitor)
    response = client.post(
        participant_url(world.participant_a),
        {"action": "query", "signal": "clock", "text": "Was her phone clock wrong?"},
    )
    assert response.status_code == 302
    query = DataQuery.objects.get()
    client.force_login(world.coordinator2)
    page = client.get(QUERIES).content.decode()
    assert "Was her phone clock wrong?" not in page  # another site's query
    response = client.post(QUERIES, {"action": "answer", "query": query.pk, "text": "No"})
    assert response.status_code == 400
    assert f"There is no query {query.pk} at your sites." in response.content.decode()
    client.force_login(world.coordinator1)
    assert "Was her phone clock wrong?" in client.get(QUERIES).content.decode()
    response = client.post(QUERIES, {"action": "answer", "query": query.pk, "text": "Yes, fixed"})
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.status == "answered" and query.answer == "Yes, fixed"


def test_the_query_list_filters_by_status_and_exports_csv_audited(client, world):
    query_raise(participant=world.participant_a, signal="trail", text="=1+1", actor=world.monitor)
    client.force_login(world.monitor)
    assert "=1+1" in client.get(QUERIES + "?status=open").content.decode()
    assert "=1+1" not in client.get(QUERIES + "?status=closed").content.decode()
    response = client.get("/admin/signals/queries/export/?status=open")
    body = b"".join(response.streaming_content).decode()
    lines = body.splitlines()
    assert lines[0].startswith("query,study,site,participant,about,status,raised_at_utc")
    assert "S01-001" in lines[1] and "'=1+1" in lines[1]  # a formula is neutralised
    event = AuditEvent.objects.get(action=AuditAction.QUERIES_EXPORTED)
    assert event.actor == world.monitor and event.details["rows"] == 1


def test_thresholds_page_refuses_out_of_range_values_and_stores_nothing(client, world):
    client.force_login(world.admin)
    url = f"/admin/signals/settings/{world.study.code}/"
    data = {
        name: getattr(StudySignalSettings(), name)
        for name in ("night_start_hour", "night_end_hour", "unusual_hours_entries")
    }
    full = {f.name: f.default for f in StudySignalSettings._meta.concrete_fields if f.name in {
        "night_start_hour", "night_end_hour", "unusual_hours_entries", "sitting_minutes",
        "sitting_entries", "late_report_days", "answer_changes", "clock_minutes",
        "corrections_per_participant", "last_hour_minutes", "last_hour_submissions",
        "missed_in_row"}}  # fmt: skip
    assert data.items() <= full.items()
    response = client.post(url, {**full, "clock_minutes": 5000})
    assert response.status_code == 400
    assert "less than or equal to 1440" in response.content.decode()
    assert not StudySignalSettings.objects.exists()
    response = client.post(url, {**full, "clock_minutes": 20})
    assert response.status_code == 302
    assert StudySignalSettings.objects.get().clock_minutes == 20


def test_the_monitor_reads_thresholds_but_cannot_set_them(client, world):
    client.force_login(world.monitor)
    url = f"/admin/signals/settings/{world.study.code}/"
    page = client.get(url)
    assert page.status_code == 200 and "Save the thresholds" not in page.content.decode()
    assert client.post(url, {"clock_minutes": 20}).status_code == 404
    assert not StudySignalSettings.objects.exists()
