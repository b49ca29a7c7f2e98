"""The installable, offline-tolerant diary in headless Chromium: the service worker controls
her pages, answers given without a network wait in the outbox with a banner that counts them,
and reach the server exactly once when the connection returns; a page reloaded offline is
served by the worker."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from diary.models import AuditAction, AuditEvent, ResponseDraft
from diary.services.drafts import draft_save
from tests.browser.pages import check
from tests.browser.test_participant_journey import intro, log_in
from tests.diary.journey import ehp30_pages, open_assessment

pytestmark = pytest.mark.django_db(transaction=True)


def controlled_page(page, live_server, world, number: int = 1):
    """Her questionnaire page `number`, opened while online, under the service worker."""
    assessment = open_assessment(world.participant_a)
    log_in(page, live_server, "S01-001", lands=intro(assessment))
    url = f"{live_server.url}/diary/questionnaire/{assessment.pk}/page/{number}/"
    page.goto(url)
    page.evaluate("() => navigator.serviceWorker.ready")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()  # the first visit installed it; from now on it answers for the page
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    page.goto(url)  # fetched through the worker, so kept for offline use
    return assessment


def saves_since(assessment, last_pk: int) -> list[list[str]]:
    return [
        e.details["variables"]
        for e in AuditEvent.objects.filter(
            action=AuditAction.DRAFT_SAVED, object_id=str(assessment.pk), pk__gt=last_pk
        ).order_by("pk")
    ]


def last_event_pk() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_the_diary_is_installable(live_server, world, page):
    controlled_page(page, live_server, world)
    manifest = page.locator("link[rel=manifest]").get_attribute("href")
    assert manifest == "/manifest.webmanifest"
    data = page.evaluate("(href) => fetch(href).then(r => r.json())", manifest)
    assert data["display"] == "standalone" and data["start_url"] == "/diary/"
    scope = page.evaluate("() => navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{live_server.url}/"
    assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")


def test_answers_given_offline_reach_the_server_once_when_she_is_back(
    live_server, world, page, context, shoot
):
    assessment = controlled_page(page, live_server, world)
    keys = ehp30_pages(world.study)[0].item_keys[:3]
    before = last_event_pk()
    context.set_offline(True)
    for key in keys:
        page.locator(f"label[for='{key}-3']").click()
    banner = page.locator("[data-offline-banner]")
    expect(banner).to_have_text("Offline: 3 answers not yet sent")
    check(page, shoot, "offline-banner")
    assert saves_since(assessment, before) == []  # nothing reached the server
    context.set_offline(False)
    expect(banner).to_have_text("")
    answers = ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]
    assert [answers[key] for key in keys] == [3, 3, 3]
    assert sorted(saves_since(assessment, before)) == sorted([key] for key in keys)
    # Returning to the tab sends the (now empty) outbox again: nothing is stored twice.
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.reload()
    expect(page.locator(f"#{keys[0]}-3")).to_be_checked()
    assert len(saves_since(assessment, before)) == 3


def test_a_reload_without_a_network_is_served_by_the_worker_and_loses_nothing(
    live_server, world, page, context
):
    assessment = controlled_page(page, live_server, world)
    keys = ehp30_pages(world.study)[0].item_keys[:3]
    before = last_event_pk()
    context.set_offline(True)
    page.locator(f"label[for='{keys[0]}-1']").click()
    page.locator(f"label[for='{keys[1]}-4']").click()
    banner = page.locator("[data-offline-banner]")
    expect(banner).to_have_text("Offline: 2 answers not yet sent")
    # Changed on the server meanwhile: a page from the network would show it, the kept one not.
    draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={keys[2]: 0},
        actor=world.participant_a.user,
    )
    response = page.reload()
    assert response.from_service_worker
    expect(page.get_by_text("Page 1 of 6")).to_be_visible()
    expect(banner).to_have_text("Offline: 2 answers not yet sent")
    expect(page.locator(f"#{keys[0]}-1")).to_be_checked()  # her unsent answers, put back
    expect(page.locator(f"#{keys[1]}-4")).to_be_checked()
    expect(page.locator(f"#{keys[2]}-0")).not_to_be_checked()
    page.locator(f"label[for='{keys[2]}-2']").click()
    expect(banner).to_have_text("Offline: 3 answers not yet sent")
    # Next, offline: she stays on the page, and is told why.
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("You are offline. Your answers are kept")).to_be_visible()
    context.set_offline(False)
    expect(banner).to_have_text("")
    answers = ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]
    assert [answers[key] for key in keys] == [1, 4, 2]
    saves = saves_since(assessment, before)
    assert saves[0] == [keys[2]]  # the server-side change
    assert sorted(saves[1:]) == sorted([key] for key in keys)


def test_logging_out_with_unsent_answers_warns_and_then_clears_the_device(
    live_server, world, page, context
):
    assessment = controlled_page(page, live_server, world)
    key = ehp30_pages(world.study)[0].item_keys[0]
    before = last_event_pk()
    context.set_offline(True)
    page.locator(f"label[for='{key}-2']").click()
    banner = page.locator("[data-offline-banner]")
    expect(banner).to_have_text("Offline: 1 answer not yet sent")
    warnings: list[str] = []

    def refuse(dialog):
        warnings.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", refuse)
    with page.expect_event("dialog"):  # asked once the outbox is counted (asynchronously)
        page.get_by_role("button", name="Log out").click()
    expect(banner).to_have_text("Offline: 1 answer not yet sent")  # she stayed, answer kept
    assert warnings == [
        "1 of your answers have not been sent yet: they are lost if you log out now. "
        "Log out anyway?"
    ]
    # She logs out anyway (the request itself fails offline): the outbox is emptied first.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_event("dialog"):
        page.get_by_role("button", name="Log out").click()
    page.wait_for_timeout(500)
    context.set_offline(False)
    page.goto(f"{live_server.url}/diary/")
    expect(page.get_by_role("heading", name="What to do now")).to_be_visible()
    assert outbox_size(page) == 0
    assert saves_since(assessment, before) == []  # the answer she gave up never arrived
    page.get_by_role("button", name="Log out").click()  # nothing unsent: no question asked
    expect(page.get_by_role("heading", name="You have logged out")).to_be_visible()
    page.wait_for_timeout(300)
    kept = page.evaluate("() => caches.open('diary-pages').then(c => c.keys()).then(k => k.length)")
    assert (outbox_size(page), kept) == (0, 0)


def outbox_size(page) -> int:
    return page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("diary-outbox", 1);
            open.onupgradeneeded = () => open.result.createObjectStore("answers", {keyPath: "id"});
            open.onsuccess = () => {
                const all = open.result.transaction("answers").objectStore("answers").getAll();
                all.onsuccess = () => resolve(all.result.length);
            };
        })"""
    )
