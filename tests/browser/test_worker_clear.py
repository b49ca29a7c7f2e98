"""The service worker never puts her page back after a logout emptied its page cache.

The worker's code (/sw.js as the diary serves it) runs in a blank page of the browser (the
diary's own pages forbid evaluating code: CSP), with the browser's own Request, Response and
URL, and a cache and network it is given: the network answers only
when the test says, so a logout's "clear" can arrive while a page is still on its way, as it
does on a slow line when she logs out just after landing (the page asks the worker to keep it).
"""

from __future__ import annotations

import urllib.request

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

RUN_WORKER = """async ([source, origin, steps]) => {
  const handlers = {};
  const log = [];
  const caches = {
    open: async (name) => ({
      put: async (request) => { log.push("put " + new URL(request.url).pathname); },
      match: async () => undefined,
      addAll: async () => undefined,
    }),
    delete: async (name) => { log.push("delete " + name); return true; },
    keys: async () => [],
  };
  let answer = null;
  const network = (request) => new Promise((resolve) => {
    answer = () => resolve(new Response("<p>her page</p>", {
      status: 200, headers: { "Content-Type": "text/html", "X-Offline-Cache": "1" },
    }));
  });
  const worker = {
    addEventListener: (type, handler) => { handlers[type] = handler; },
    location: { origin: origin }, clients: {}, registration: {},
    skipWaiting: async () => undefined,
  };
  new Function("self", "caches", "fetch", source)(worker, caches, network);
  const waits = [];
  for (const step of steps) {
    if (step === "answer") { answer(); continue; }
    handlers.message({ data: step, waitUntil: (promise) => waits.push(promise) });
  }
  await Promise.all(waits);
  return log;
}"""

KEEP = {"type": "keep", "url": "/diary/questionnaire/1/"}
CLEAR = {"type": "clear"}


def run_worker(live_server, page, steps: list) -> list[str]:
    with urllib.request.urlopen(f"{live_server.url}/sw.js") as response:  # noqa: S310 - ours
        source = response.read().decode()
    page.goto("about:blank")
    return page.evaluate(RUN_WORKER, [source, live_server.url, steps])


def test_a_page_answered_after_the_logout_cleared_the_cache_is_not_kept(live_server, page):
    assert run_worker(live_server, page, [KEEP, CLEAR, "answer"]) == ["delete diary-pages"]


def test_a_page_answered_before_a_logout_is_kept_and_then_cleared(live_server, page):
    assert run_worker(live_server, page, [KEEP, "answer"]) == ["put /diary/questionnaire/1/"]
    steps = [CLEAR, KEEP, "answer"]  # she logs in again after a logout: her new page is kept
    assert run_worker(live_server, page, steps) == ["delete diary-pages",
                                                    "put /diary/questionnaire/1/"]
