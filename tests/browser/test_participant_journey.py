"""The participant's whole journey on a phone, in headless Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from diary.models import Response, ResponseDraft
from diary.selectors.periods import local_today
from diary.services.invitations import invitation_send
from diary.services.participants import participant_enrol
from tests.browser.pages import check
from tests.conftest import PASSWORD
from tests.diary.journey import ehp30_pages, open_assessment, window_close
from tests.diary.services.test_period_closing import six_periods_until_yesterday

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "amber-willow-compass-58"
SKIPPED = ("ehp30_q03", "ehp30_q20")


def log_in(
    page, live_server, identifier: str, password: str = PASSWORD, *, lands: str | None = None
) -> None:
    """She logs in and lands, in that one response, on the page at `lands` (a path: her open
    questionnaire where the home page's button would take her), or else on her home page."""
    page.goto(f"{live_server.url}/diary/login/")
    page.get_by_label("Study ID or e-mail address").fill(identifier)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if lands is None:
        expect(page.get_by_role("heading", name="What to do now")).to_be_visible()
    else:
        expect(page).to_have_url(f"{live_server.url}{lands}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()


def intro(assessment) -> str:
    """Her questionnaire's first page (not begun yet): where logging in lands her."""
    return f"/diary/questionnaire/{assessment.pk}/"


def answer_page(page, item_keys, *, code: int = 2, skip=SKIPPED) -> None:
    for key in item_keys:
        if key not in skip:
            page.locator(f"label[for='{key}-{code}']").click()


def test_whole_journey_on_a_phone(live_server, world, page, shoot):
    participant = participant_enrol(
        study=world.study,
        site=world.site1,
        subject_id="S01-042",
        email="journey@example.org",
        actor=world.coordinator1,
    )
    url = invitation_send(participant=participant, actor=world.coordinator1)
    token_path = url.split("/diary/", 1)[1]

    # Invitation: one click to confirm, then a password.
    page.goto(f"{live_server.url}/diary/{token_path}")
    check(page, shoot, "invitation")
    page.get_by_role("button", name="Continue").click()
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    check(page, shoot, "password")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_text("Tell us when your period starts.")).to_be_visible()
    check(page, shoot, "home-new")

    # Period start and end.
    today = local_today(participant, timezone.now())
    page.get_by_role("link", name="My period has started").click()
    page.get_by_label("First day of your period").fill((today - timedelta(days=6)).isoformat())
    check(page, shoot, "period-start")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="My period has ended").click()
    page.get_by_label("Last day of your period").fill((today - timedelta(days=1)).isoformat())
    check(page, shoot, "period-end")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your questionnaire for period 1 is open until")).to_be_visible()
    check(page, shoot, "home-open")

    # EHP-30, page by page, two items left unanswered; a reload mid-way keeps the answers.
    page.get_by_role("link", name="Fill in the questionnaire").click()
    check(page, shoot, "questionnaire-intro")
    page.get_by_role("link", name="Start").click()
    pages = ehp30_pages(world.study)
    for number, ehp_page in enumerate(pages, start=1):
        expect(page.get_by_text(f"Page {number} of 6")).to_be_visible()
        answer_page(page, ehp_page.item_keys)
        if number == 2:
            expect(page.locator("[data-autosave-status]")).to_have_text("Saved")
            page.reload()
            for key in ehp_page.item_keys:
                expect(page.locator(f"#{key}-2")).to_be_checked()
        check(page, shoot, f"ehp30-page-{number}")
        page.get_by_role("button", name="Next").click()

    # VAS: no marker until she clicks the line.
    slider = page.get_by_role("slider")
    expect(slider).not_to_have_attribute("aria-valuenow", "50")
    assert slider.get_attribute("aria-valuenow") is None
    expect(page.locator(".vas-marker")).to_be_hidden()
    check(page, shoot, "vas-untouched")
    box = slider.bounding_box()
    slider.click(position={"x": box["width"] * 0.3, "y": box["height"] / 2})
    expect(page.locator(".vas-marker")).to_be_visible()
    value = int(slider.get_attribute("aria-valuenow"))
    assert 28 <= value <= 32
    check(page, shoot, "vas-marked")
    page.get_by_role("button", name="Review your answers").click()

    # Review: the two unanswered items are listed; she confirms and submits.
    expect(page.get_by_text("You left 2 questions unanswered")).to_be_visible()
    check(page, shoot, "review")
    page.get_by_label("I have left these questions unanswered on purpose.").check()
    page.get_by_role("button", name="Submit my answers").dblclick()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check(page, shoot, "done")

    responses = {
        r.instrument_key: r for r in Response.objects.filter(assessment__participant=participant)
    }
    assert len(responses) == 2
    assert [responses["ehp30"].answers[k] for k in SKIPPED] == [None, None]
    assert responses["vas_dysmenorrhea"].answers["vas_dysmenorrhea"] == value
    metadata = responses["vas_dysmenorrhea"].metadata
    assert metadata["viewport_width"] == "360"
    assert metadata["device_pixel_ratio"] == "2"
    assert metadata["input"] == "pointer"
    assert metadata["client_answered_at"].endswith("Z")


def test_correcting_a_date_and_reading_the_diary_in_danish(live_server, world, page, shoot):
    participant = world.participant_a
    today = local_today(participant, timezone.now())
    from diary.services.periods import period_start_report

    period_start_report(participant=participant, started_on=today, actor=None)
    log_in(page, live_server, "S01-001")
    page.get_by_role("link", name="Correct the dates").click()
    page.get_by_label("First day of your period").fill((today - timedelta(days=1)).isoformat())
    check(page, shoot, "period-correct")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_text("The dates of period 1 are corrected")).to_be_visible()
    page.get_by_label("Language").select_option("da")
    page.get_by_role("button", name="Change language").click()
    expect(page.get_by_role("heading", name="Det skal du gøre nu")).to_be_visible()
    check(page, shoot, "home-danish")


def vas_page(page, live_server, participant) -> None:
    assessment = open_assessment(participant)
    log_in(page, live_server, participant.subject_id, lands=intro(assessment))
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/6/")
    return assessment


def test_vas_by_keyboard_starts_only_from_an_end_she_chooses(live_server, world, page, shoot):
    assessment = vas_page(page, live_server, world.participant_a)
    slider = page.get_by_role("slider")
    slider.focus()
    page.keyboard.press("ArrowRight")  # untouched: no value is invented, a hint is announced
    assert slider.get_attribute("aria-valuenow") is None
    expect(page.locator("[data-vas-live]")).to_contain_text("Press Home or End")
    page.keyboard.press("Home")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("PageUp")
    expect(slider).to_have_attribute("aria-valuenow", "15")
    check(page, shoot, "vas-keyboard")
    page.get_by_role("button", name="Review your answers").click()
    draft = ResponseDraft.objects.get(assessment=assessment)
    assert draft.answers["vas_dysmenorrhea"]["vas_dysmenorrhea"] == 15
    assert draft.metadata["vas_dysmenorrhea"]["input"] == "keyboard"


def test_an_untouched_vas_is_not_saved_as_a_value(live_server, world, page):
    assessment = vas_page(page, live_server, world.participant_a)
    page.get_by_role("slider").focus()
    page.keyboard.press("ArrowLeft")
    page.get_by_role("button", name="Review your answers").click()
    expect(page.get_by_text("You left 31 questions unanswered")).to_be_visible()
    draft = ResponseDraft.objects.get(assessment=assessment)
    assert draft.answers["vas_dysmenorrhea"] == {"vas_dysmenorrhea": None}


def test_a_closed_window_is_refused_and_the_answers_are_kept(live_server, world, page, shoot):
    assessment = open_assessment(world.participant_a)
    log_in(page, live_server, "s01-001@example.org", lands=intro(assessment))
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/1/")
    answer_page(page, ehp30_pages(world.study)[0].item_keys, skip=())
    page.get_by_role("button", name="Next").click()
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/review/")
    window_close(assessment)  # she waited too long before pressing Submit
    page.get_by_label("I have left these questions unanswered on purpose.").check()
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_text("The window for this questionnaire has closed.")).to_be_visible()
    check(page, shoot, "closed-window")
    assert not Response.objects.exists()
    assert ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]["ehp30_q01"] == 2


def test_lockout_and_forgotten_password_pages(live_server, world, page, shoot):
    from django.conf import settings

    page.goto(f"{live_server.url}/diary/login/")
    check(page, shoot, "login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Study ID or e-mail address").fill("S01-002")
        page.get_by_label("Password").fill("not-her-password")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Logging in is blocked for now")).to_be_visible()
    check(page, shoot, "lockout")
    page.get_by_role("link", name="Forgotten your password?").click()
    check(page, shoot, "password-forgotten")
    page.get_by_label("Study ID or e-mail address").fill("S01-001")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    check(page, shoot, "password-forgotten-sent")


def test_closing_the_last_cycle_by_keyboard_on_a_phone(live_server, world, page, shoot):
    """After her last period she reports the start of the next one: no questionnaire."""
    participant = world.participant_a
    six_periods_until_yesterday(participant)
    log_in(page, live_server, "S01-001")
    check(page, shoot, "home-closing")
    link = page.get_by_role("link", name="My next period has started")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My next period has started")).to_be_visible()
    check(page, shoot, "period-closing")
    day = local_today(participant, timezone.now()) - timedelta(days=1)
    field = page.get_by_label("First day of your next period")
    field.fill((day + timedelta(days=2)).isoformat())  # tomorrow: refused with a message
    field.press("Enter")
    expect(page.get_by_text("The date cannot be in the future.")).to_be_visible()
    check(page, shoot, "period-closing-error")
    page.get_by_label("First day of your next period").fill(day.isoformat())
    page.get_by_label("First day of your next period").press("Enter")
    expect(page.get_by_text("There is no questionnaire for it.").first).to_be_visible()
    expect(page.get_by_text("Next period after the study: started")).to_be_visible()
    check(page, shoot, "home-closed")
    assert participant.closing_start.started_on == day
