"""Logging in lands on her questionnaire in one response; reload and Back never log in again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from diary.models import AuditAction, AuditEvent
from tests.conftest import PASSWORD
from tests.diary.journey import open_assessment

pytestmark = pytest.mark.django_db(transaction=True)

QUESTIONNAIRE = "Questionnaire after period 1"
# Whether the worker has kept the page at `url`, waiting for it up to 15 s.
KEPT = """async (url) => {
  for (let i = 0; i < 150; i += 1) {
    const hit = await (await caches.open("diary-pages")).match(url);
    if (hit) { return true; }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}"""


def navigations(page) -> list[tuple[str, str]]:
    """The document requests of the page from now on: (method, path)."""
    seen: list[tuple[str, str]] = []

    def record(request) -> None:
        if request.is_navigation_request() and request.frame == page.main_frame:
            seen.append((request.method, request.url.split("://", 1)[1].split("/", 1)[1]))

    page.on("request", record)
    return seen


def test_she_lands_on_her_questionnaire_and_reload_back_forward_never_post_again(
    live_server, world, page
):
    assessment = open_assessment(world.participant_a)
    landed = f"diary/questionnaire/{assessment.pk}/"
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.goto(f"{live_server.url}/diary/login/")
    page.get_by_label("Study ID or e-mail address").fill("S01-001")
    page.get_by_label("Password").fill(PASSWORD)
    seen = navigations(page)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=QUESTIONNAIRE)).to_be_visible()
    # One request: the login POST answered with the page itself, whose address is in the bar.
    assert seen == [("POST", "diary/login/")]
    expect(page).to_have_url(f"{live_server.url}/{landed}")
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN).count() == 1

    seen.clear()
    response = page.reload()
    expect(page.get_by_role("heading", name=QUESTIONNAIRE)).to_be_visible()
    assert response is not None and response.status == 200
    assert seen == [("GET", landed)] and dialogs == []

    seen.clear()
    page.go_back()
    # The login page's address; she is logged in, so it sends her home, as it always did.
    expect(page.get_by_role("heading", name="What to do now")).to_be_visible()
    assert [method for method, _ in seen] == ["GET"] * len(seen)
    assert seen[0] == ("GET", "diary/login/")

    seen.clear()
    page.go_forward()
    expect(page.get_by_role("heading", name=QUESTIONNAIRE)).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/{landed}")
    assert ("POST", "diary/login/") not in seen and dialogs == []
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN).count() == 1

    # The way back to her home page is there, as on any questionnaire page.
    page.get_by_role("link", name="Back to your diary").click()
    expect(page.get_by_role("heading", name="What to do now")).to_be_visible()


def test_the_questionnaire_she_landed_on_opens_without_a_network(live_server, world, page, context):
    """The answer to the login POST is not a GET the worker could keep: the page asks the
    worker to fetch and keep its own address, after its load event."""
    assessment = open_assessment(world.participant_a)
    landed = f"{live_server.url}/diary/questionnaire/{assessment.pk}/"
    page.goto(f"{live_server.url}/diary/login/")
    page.get_by_label("Study ID or e-mail address").fill("S01-001")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=QUESTIONNAIRE)).to_be_visible()
    assert page.evaluate(KEPT, landed), "the worker did not keep the page"
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    context.set_offline(True)
    try:
        page.reload()
        expect(page.get_by_role("heading", name=QUESTIONNAIRE)).to_be_visible()
        expect(page.get_by_role("link", name="Start")).to_be_visible()
    finally:
        context.set_offline(False)
