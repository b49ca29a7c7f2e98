"""The monitor's round of the data-quality signals on a laptop (1280 px wide), in headless
Chromium: the signals page lists each signal with its definition, a participant's page opens
from it, a review with a comment shows on her page, a query raised there shows on the queries
page; every column of every table is on screen or in a box that scrolls sideways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from diary.models import AuditAction, AuditEvent
from tests.browser.admin import LAPTOP, UNREACHABLE_HEADERS, staff_log_in
from tests.browser.pages import serious_violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_context_args() -> dict:
    return {"viewport": LAPTOP, "locale": "en-GB", "timezone_id": "Europe/Copenhagen"}


def night_submissions(participant, count: int) -> None:
    """Her own submissions at 01:00 UTC (02:00 in Copenhagen): entries at unusual hours."""
    for day in range(1, count + 1):
        AuditEvent.objects.create(
            occurred_at=datetime(2026, 1, day, 1, 0, tzinfo=UTC),
            actor=participant.user,
            action=AuditAction.SUBMITTED,
            participant=participant,
            study=participant.study,
            object_type="diary.Assessment",
            object_id=str(day),
            unblinded=False,
        )


def test_the_monitor_reviews_a_signal_and_raises_a_query(live_server, world, page, shoot):
    night_submissions(world.participant_a, 3)
    staff_log_in(page, live_server, world.monitor)
    page.goto(f"{live_server.url}/admin/signals/")
    page.get_by_role("heading", name="By participant").wait_for()
    shoot(page, "signals")
    definitions = page.locator("#signal-definitions")
    night = definitions.locator("tr", has_text="Entries at unusual local hours")
    expect(night).to_contain_text("between 00:00 and 05:00 in her time zone")
    expect(night).to_contain_text("flagged from 2 such entries")
    her_row = page.locator("#signal-participants tbody tr", has_text="S01-001")
    # Flagged first: she has the one flagged signal, three night entries.
    expect(page.locator("#signal-participants tbody tr").first).to_contain_text("S01-001")
    expect(her_row.locator("td.signal-flagged")).to_have_text("3 ⚑")
    tables = ["signal-definitions", "signal-sites", "signal-participants"]
    assert page.evaluate(UNREACHABLE_HEADERS, tables) == []
    assert serious_violations(page) == []

    her_row.get_by_role("link", name="S01-001").click()
    expect(page.get_by_role("heading", name="Data-quality signals of S01-001")).to_be_visible()
    signal = page.locator("#signal-unusual_hours")
    expect(signal).to_contain_text("3 ⚑ flagged")
    signal.get_by_label("Comment on Entries at unusual local hours").fill(
        "Night shifts; confirmed with the site."
    )
    signal.get_by_role("button", name="Reviewed").click()
    expect(page.get_by_text("Recorded, and written to the audit trail.")).to_be_visible()
    review = page.locator("#signal-reviews tbody tr").first
    expect(review).to_contain_text("monitor")
    expect(review).to_contain_text("Entries at unusual local hours")
    expect(review).to_contain_text("Night shifts; confirmed with the site.")
    expect(page.locator("#signal-unusual_hours")).to_contain_text("monitor")
    expect(page.locator("#signal-unusual_hours")).to_contain_text("at value 3")

    page.get_by_label("About").select_option("unusual_hours")
    page.get_by_label("Query to the site").fill("Please confirm her entry times.")
    page.get_by_role("button", name="Raise the query").click()
    expect(page.get_by_text("Recorded, and written to the audit trail.")).to_be_visible()
    assert page.evaluate(UNREACHABLE_HEADERS, ["signal-participant", "signal-reviews"]) == []
    shoot(page, "participant")

    page.get_by_role("link", name="Data-quality signals").click()
    page.get_by_role("link", name="Queries to sites").click()
    query = page.locator(".query-table tbody tr", has_text="Please confirm her entry times.")
    expect(query).to_contain_text("S01-001")
    expect(query).to_contain_text("Entries at unusual local hours")
    expect(query).to_contain_text("Open")
    # Back on the signals page, her signal is marked reviewed at the value shown.
    page.go_back()
    expect(
        page.locator("#signal-participants tbody tr", has_text="S01-001").locator(
            "td.signal-flagged"
        )
    ).to_have_text("3 ⚑ ✓")
    shoot(page, "queries")
