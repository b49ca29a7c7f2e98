"""Rough edges a newcomer found on the participant side, each walked in headless Chromium:
Danish throughout, "Continue" resumes where she stopped, the VAS hint goes once a mark is
placed, Back after "please confirm" shows no resubmission error, an answer tapped just before
leaving a page reaches the server, the lock-out page says for how long, the VAS page has a
plain heading, and the review shows the VAS line with its anchors."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from math import ceil

import pytest
from django.conf import settings
from playwright.sync_api import expect

from diary.models import Participant, ResponseDraft
from diary.services.drafts import draft_save
from tests.browser.pages import check
from tests.browser.test_participant_journey import answer_page, intro, log_in
from tests.conftest import PASSWORD
from tests.diary.journey import ehp30_pages, open_assessment
from tests.test_locale import LOCALE, po_entries, unescape

pytestmark = pytest.mark.django_db(transaction=True)

DANISH_MONTHS = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
]
# English words a Danish page has no business showing (none of them is a Danish word).
ENGLISH_WORDS = re.compile(
    r"\b(the|your|you|this|with|please|been|has|will|what|when|which|answers?|questionnaire"
    r"|period|pain|page|saved|submit)\b",
    re.IGNORECASE,
)
VAS_ENGLISH = ("How bad was your period pain", "No pain", "Worst pain imaginable", "Period pain")

# Every text a person or a screen reader meets, leaving out what is marked as written in
# another language (the EHP-30's demo labels are English by design: the licensed Danish
# wording is loaded per deployment, ehp30-vas.md).
PAGE_TEXTS = """() => {
  const copy = document.documentElement.cloneNode(true);
  // A page headed in the instrument's language repeats its heading in the title.
  const foreign = copy.querySelector('h1[lang]:not([lang^="da"])');
  if (foreign) {
    copy.querySelector('title').textContent =
      copy.querySelector('title').textContent.replace(foreign.textContent, '');
  }
  copy.querySelectorAll('script, style, [lang]:not([lang^="da"])').forEach(e => e.remove());
  const texts = [copy.querySelector('title').textContent, copy.querySelector('body').textContent];
  copy.querySelectorAll('*').forEach(e => {
    for (const a of e.attributes) {
      const spoken = /^(aria-label|aria-valuetext|title|placeholder|alt|data-unsent-warning)$/;
      const templates = /^data-(.*-(text|one|many|none)|low|high|text-.*)$/;
      if (spoken.test(a.name) || templates.test(a.name)) {
        texts.push(a.value);
      }
    }
  });
  return texts.join('\\n');
}"""


def english_fragments() -> list[str]:
    """The English interface text the project wrote, as pieces long enough to be unambiguous:
    every msgid of the catalogue whose Danish differs, cut at its placeholders."""
    pieces = set(VAS_ENGLISH)
    for msgid, msgstr in po_entries(LOCALE / "django.po").items():
        if msgid == msgstr:
            continue
        for piece in re.split(r"%%?\(\w+\)s|%%?s|\{\{.*?\}\}", unescape(msgid)):
            piece = piece.strip(" .:,;()“”\"'")
            if len(piece) >= 14:
                pieces.add(piece)
    return sorted(pieces)


def english_on(page, fragments: list[str]) -> list[str]:
    text = " ".join(page.evaluate(PAGE_TEXTS).split())
    found = [f for f in fragments if f in text]
    found += [m.group(0) for m in ENGLISH_WORDS.finditer(text)]
    return found


def danish(participant: Participant) -> None:
    Participant.objects.filter(pk=participant.pk).update(language="da")


def log_in_danish(page, live_server, identifier: str, *, lands: str) -> None:
    """She logs in and lands on the page at `lands` (her open questionnaire), in Danish."""
    page.goto(f"{live_server.url}/diary/login/")
    page.locator("#id_username").fill(identifier)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    expect(page).to_have_url(f"{live_server.url}{lands}")
    expect(page.get_by_role("heading", name="Spørgeskema efter menstruation 1")).to_be_visible()


def test_every_participant_page_reads_in_danish(live_server, world, page, context, shoot):
    participant = world.participant_a
    danish(participant)
    assessment = open_assessment(participant)
    fragments = english_fragments()
    seen: dict[str, list[str]] = {}

    def walk(name: str) -> None:
        seen[name] = english_on(page, fragments)
        check(page, shoot, name)

    context.add_cookies([{"name": "django_language", "value": "da", "url": live_server.url}])
    page.goto(f"{live_server.url}/diary/login/")
    walk("login")
    log_in_danish(page, live_server, "S01-001", lands=intro(assessment))
    walk("landed")
    page.get_by_role("link", name="Tilbage til din dagbog").click()
    expect(page.get_by_role("heading", name="Det skal du gøre nu")).to_be_visible()
    walk("home")
    # Dates as a Dane writes them: "8. december", day before month.
    home = page.locator("main").inner_text()
    assert re.search(rf"\b\d{{1,2}}\. ({'|'.join(DANISH_MONTHS)})\b", home), home
    assert not re.search(rf"\b\d{{1,2}} ({'|'.join(DANISH_MONTHS)})\b", home), home
    page.goto(f"{live_server.url}/diary/period/start/")
    walk("period-start")
    page.goto(f"{live_server.url}/diary/reminders/")
    walk("reminders")
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/")
    walk("intro")
    pages = ehp30_pages(world.study)
    for number, ehp_page in enumerate(pages, start=1):
        page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/{number}/")
        answer_page(page, ehp_page.item_keys)
        walk(f"page-{number}")
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/6/")
    expect(page.get_by_role("heading", name="Menstruationssmerter")).to_be_visible()
    walk("vas-untouched")
    slider = page.get_by_role("slider")
    slider.focus()
    page.keyboard.press("ArrowRight")
    walk("vas-hint")
    page.keyboard.press("End")
    walk("vas-marked")
    page.get_by_role("button", name="Gennemse dine svar").click()
    walk("review")
    page.get_by_role("button", name="Indsend mine svar").click()
    walk("review-please-confirm")
    page.locator("#id_confirm_unanswered").check()
    page.get_by_role("button", name="Indsend mine svar").click()
    walk("done")
    page.goto(f"{live_server.url}/diary/answers/{assessment.pk}/")
    walk("answers")
    page.locator("a[href*='/wrong/']").first.click()
    walk("change-request")
    page.goto(f"{live_server.url}/diary/")
    page.locator("form[data-logout] button").click()
    # The logout first clears the offline copies, then posts: read the page once it has come.
    expect(page.get_by_role("heading", name="Du er logget ud")).to_be_visible()
    walk("logged-out")
    assert {name: found for name, found in seen.items() if found} == {}


def test_the_danish_vas_is_recorded_as_the_danish_version(live_server, world, page):
    """What she read is what the response records: the Danish wording's own version."""
    participant = world.participant_a
    danish(participant)
    assessment = open_assessment(participant)
    log_in_danish(page, live_server, "S01-001", lands=intro(assessment))
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/6/")
    expect(page.get_by_text("Hvor stærke var dine menstruationssmerter")).to_be_visible()
    expect(page.locator(".vas-anchors")).to_have_text(re.compile("Ingen smerte.*"))
    page.get_by_role("slider").focus()
    page.keyboard.press("Home")
    page.get_by_role("button", name="Gennemse dine svar").click()
    page.locator("#id_confirm_unanswered").check()
    page.get_by_role("button", name="Indsend mine svar").click()
    expect(page.get_by_role("heading", name="Tak")).to_be_visible()
    vas = assessment.responses.get(instrument_key="vas_dysmenorrhea")
    assert (vas.instrument_version, vas.answers) == ("1.0-da", {"vas_dysmenorrhea": 0})


def two_pages_answered(world, assessment) -> None:
    for ehp_page in ehp30_pages(world.study)[:2]:
        draft_save(
            assessment=assessment,
            instrument_key="ehp30",
            answers=dict.fromkeys(ehp_page.item_keys, 1),
            actor=world.participant_a.user,
        )


def test_continue_returns_to_the_first_unanswered_page(live_server, world, page, shoot):
    assessment = open_assessment(world.participant_a)
    two_pages_answered(world, assessment)
    # Logging in lands her where "Continue the questionnaire" goes, and so does the button.
    log_in(page, live_server, "S01-001", lands=f"/diary/questionnaire/{assessment.pk}/page/3/")
    expect(page.get_by_text("Page 3 of 6")).to_be_visible()
    page.goto(f"{live_server.url}/diary/")
    page.get_by_role("link", name="Continue the questionnaire").click()
    expect(page.get_by_text("Page 3 of 6")).to_be_visible()
    check(page, shoot, "resumed")
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/")
    page.get_by_role("link", name="Continue", exact=True).click()
    expect(page.get_by_text("Page 3 of 6")).to_be_visible()


def test_the_vas_hint_goes_once_a_mark_is_placed(live_server, world, page, shoot):
    assessment = open_assessment(world.participant_a)
    log_in(page, live_server, "S01-001", lands=intro(assessment))
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/6/")
    slider = page.get_by_role("slider")
    hint = page.get_by_text("The line has no mark yet")
    live = page.locator("[data-vas-live]")
    expect(live).to_have_attribute("aria-live", "polite")
    slider.focus()
    page.keyboard.press("ArrowRight")
    expect(hint).to_be_visible()
    page.keyboard.press("Home")
    expect(hint).to_have_count(0)
    expect(slider).to_have_attribute("aria-valuenow", "0")
    check(page, shoot, "vas-marked-by-keyboard")
    # A tap places the mark too: the hint shown before it goes.
    page.get_by_role("button", name="Remove my mark").click()
    slider = page.get_by_role("slider")
    slider.focus()
    page.keyboard.press("ArrowLeft")
    expect(hint).to_be_visible()
    box = slider.bounding_box()
    slider.click(position={"x": box["width"] * 0.5, "y": box["height"] / 2})
    expect(hint).to_have_count(0)
    check(page, shoot, "vas-marked-by-tap")


def test_back_after_please_confirm_shows_no_resubmission_error(live_server, world, page, shoot):
    assessment = open_assessment(world.participant_a)
    log_in(page, live_server, "S01-001", lands=intro(assessment))
    review = f"{live_server.url}/diary/questionnaire/{assessment.pk}/review/"
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(review)
    page.get_by_role("button", name="Submit my answers").click()
    expect(
        page.get_by_text("Please confirm that you want to leave these questions")
    ).to_be_visible()
    assert page.url == review  # shown by a GET: nothing for Back or reload to send again
    check(page, shoot, "please-confirm")
    # She follows the first unanswered question, then comes back with the browser's Back.
    page.locator("#unanswered a").first.click()
    expect(page.get_by_text("Page 1 of 6")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    assert "ERR_CACHE_MISS" not in page.content()
    # Back once more, and forward again: never a "Confirm Form Resubmission" page.
    page.go_forward()
    expect(page.get_by_text("Page 1 of 6")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    assert posts == [review]  # the one press of Submit: neither Back nor reload sent it again
    assert not assessment.responses.exists()


def saved_answer(assessment, key: str, *, within: float = 10.0):
    """Her draft's answer to `key` once the server has it (None if it never arrives)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        draft = ResponseDraft.objects.filter(assessment=assessment).first()
        if draft and draft.answers_for("ehp30").get(key) is not None:
            return draft.answers_for("ehp30")[key]
        time.sleep(0.1)
    return None


def slow_network(context, page) -> None:
    """Every request of the page takes 1.5 s to get through (a train between two masts)."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 1500, "downloadThroughput": -1, "uploadThroughput": -1},
    )


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "slow-network"])
@pytest.mark.parametrize(
    "leave",
    ["next", "back", "stop-link", "brand-link", "browser-back"],
)
def test_an_answer_tapped_just_before_leaving_is_kept(
    live_server, world, page, context, leave, slow
):
    assessment = open_assessment(world.participant_a)
    log_in(page, live_server, "S01-001", lands=intro(assessment))
    page.goto(f"{live_server.url}/diary/")
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/2/")
    key = ehp30_pages(world.study)[1].item_keys[0]
    if slow:
        slow_network(context, page)
    page.locator(f"label[for='{key}-4']").click()
    if leave == "next":
        page.get_by_role("button", name="Next").click()
    elif leave == "back":
        page.get_by_role("button", name="Back").click()
    elif leave == "stop-link":
        page.get_by_role("link", name="Stop for now").click()
    elif leave == "brand-link":
        page.get_by_role("link", name="Study diary").click()
    else:
        page.go_back(wait_until="commit")
    assert saved_answer(assessment, key) == 4


def test_an_answer_tapped_just_before_closing_the_tab_is_kept(live_server, world, page, context):
    assessment = open_assessment(world.participant_a)
    log_in(page, live_server, "S01-001", lands=intro(assessment))
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/1/")
    key = ehp30_pages(world.study)[0].item_keys[0]
    page.locator(f"label[for='{key}-3']").click()
    page.close(run_before_unload=True)
    assert saved_answer(assessment, key) == 3


@pytest.mark.parametrize("language", ["en", "da"])
def test_the_lockout_page_says_for_how_long(live_server, world, page, context, shoot, language):
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page.goto(f"{live_server.url}/diary/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.locator("#id_username").fill("S01-002")
        page.locator("#id_password").fill("not-her-password")
        page.locator("#id_password").press("Enter")
    minutes = ceil(settings.AXES_COOLOFF_TIME / timedelta(minutes=1))
    words = {"en": f"Please try again in {minutes} minutes", "da": f"om {minutes} minutter"}
    expect(page.get_by_role("alert")).to_contain_text(words[language])
    check(page, shoot, f"lockout-{language}")


def test_the_vas_page_has_a_plain_heading(live_server, world, page, shoot):
    assessment = open_assessment(world.participant_a)
    log_in(page, live_server, "S01-001", lands=intro(assessment))
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/6/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Period pain")
    expect(page).to_have_title(re.compile(r"^Period pain"))
    assert "Dysmenorrhea" not in page.locator("body").inner_text()
    check(page, shoot, "vas-heading")
    page.goto(f"{live_server.url}/diary/questionnaire/{assessment.pk}/review/")
    expect(page.get_by_role("heading", name="Period pain")).to_be_visible()
    assert "Dysmenorrhea" not in page.locator("body").inner_text()


def test_the_review_shows_the_vas_with_its_anchors(live_server, world, page, shoot):
    assessment = open_assessment(world.participant_a)
    draft_save(
        assessment=assessment,
        instrument_key="vas_dysmenorrhea",
        answers={"vas_dysmenorrhea": 70},
        actor=world.participant_a.user,
    )
    # Begun, and the pages she left unanswered asked for before: she lands on the review,
    # where "Continue the questionnaire" goes.
    log_in(page, live_server, "S01-001", lands=f"/diary/questionnaire/{assessment.pk}/review/")
    line = page.get_by_role("img", name=re.compile("Marked at 70"))
    expect(line).to_be_visible()
    section = page.locator("section", has=line)
    expect(section.get_by_text("No pain", exact=True)).to_be_visible()
    expect(section.get_by_text("Worst pain imaginable", exact=True)).to_be_visible()
    # The mark sits 70 % along the line, between the two anchors.
    marker = section.locator(".vas-review-marker").bounding_box()
    track = section.locator(".vas-review").bounding_box()
    assert abs((marker["x"] + marker["width"] / 2 - track["x"]) / track["width"] - 0.7) < 0.03
    check(page, shoot, "review-vas")
