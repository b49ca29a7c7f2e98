"""'This answer is wrong' on a phone, by keyboard: her answers, the labelled reason field, the
announced error, the request waiting, then the site's decision on her history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from diary.models import DataChangeRequest
from diary.selectors.periods import local_today
from diary.services.change_requests import change_request_decline
from diary.services.periods import period_start_report
from tests.browser.pages import check
from tests.browser.test_participant_journey import log_in
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db(transaction=True)


def test_she_asks_about_an_answer_by_keyboard_and_reads_the_reply(live_server, world, page, shoot):
    participant = world.participant_a
    period_start_report(
        participant=participant,
        started_on=local_today(participant, timezone.now()) - timedelta(days=2),
        actor=participant.user,
    )
    submit(participant, vas=70)
    log_in(page, live_server, "S01-001")
    link = page.get_by_role("link", name="See your answers after period 1")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your answers after period 1")).to_be_visible()
    check(page, shoot, "answers")
    wrong = page.get_by_role("link", name="This answer is wrong (question 1)").first
    wrong.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="This answer is wrong")).to_be_visible()
    check(page, shoot, "request")
    # Sent empty: refused, the error announced (an alert, focused) and tied to the field.
    page.get_by_role("button", name="Send to my study team").press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please write a short reason.")
    expect(alert).to_be_focused()
    field = page.get_by_label("Why is this answer wrong?")
    expect(field).to_have_attribute("aria-invalid", "true")
    assert "reason-error" in field.get_attribute("aria-describedby")
    check(page, shoot, "request-error")
    assert not DataChangeRequest.objects.exists()
    field.fill("I chose Sometimes but meant Never")
    page.get_by_role("button", name="Send to my study team").press("Enter")
    expect(page.get_by_text("Waiting for your study team.", exact=True)).to_be_visible()
    check(page, shoot, "request-waiting")
    change_request_decline(
        request=DataChangeRequest.objects.get(),
        reason="Your paper notes say Sometimes as well",
        actor=world.coordinator1,
    )
    page.reload()
    expect(page.get_by_text("Not changed. Your study team says:")).to_be_visible()
    expect(page.get_by_text("Your paper notes say Sometimes as well")).to_be_visible()
    check(page, shoot, "request-declined")
