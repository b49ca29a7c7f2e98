"""Light on a slow phone, as `make run` serves the diary (issue 19, item 6): the login page and
its static files reach the browser compressed, the static files are kept by the browser for good
(hashed names, a 10-year `immutable` Cache-Control), and a first visit to the login page
transfers at most 60 KB. The server is `python -m config.run` itself (embedded PostgreSQL and
Redis in a temporary DATA_DIR, the demo study, collected static files), as bench/bench_phone.py
starts it; the times under an emulated slow 3G are that benchmark's, not a test's."""

from __future__ import annotations

import gzip
import os
import re
import urllib.request

import pytest

from bench.bench_phone import PHONE, make_run, participant_with_open_questionnaire

LOGIN_PAGE_BUDGET = 60 * 1024
A_YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def make_run_url(tmp_path_factory):
    with make_run(tmp_path_factory.mktemp("make-run") / "data") as url:
        yield url


def fetch(url: str) -> tuple[dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return {k.lower(): v for k, v in response.headers.items()}, response.read()


def max_age(cache_control: str) -> int:
    found = re.search(r"max-age=(\d+)", cache_control)
    return int(found.group(1)) if found else 0


def test_the_login_page_and_its_files_come_compressed_and_are_kept_for_a_year(make_run_url):
    headers, body = fetch(f"{make_run_url}/diary/login/")
    assert headers.get("content-encoding") == "gzip"
    html = gzip.decompress(body).decode()
    assert "Log in to your study diary" in html
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
    for asset in assets:
        headers, body = fetch(f"{make_run_url}{asset}")
        # A hashed name: a new version is a new URL, so the old one may be kept for good.
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", asset), asset
        assert max_age(headers["cache-control"]) >= A_YEAR, (asset, headers["cache-control"])
        assert "immutable" in headers["cache-control"], asset
        if asset.endswith((".css", ".js")):
            assert headers.get("content-encoding") == "gzip", asset
            assert len(body) < len(gzip.decompress(body)), asset
    # The service worker is asked for anew on each check (and costs a 304 when unchanged).
    headers, _ = fetch(f"{make_run_url}/sw.js")
    assert headers["cache-control"] == "no-cache"
    assert headers.get("etag")


def test_a_first_visit_to_the_login_page_transfers_at_most_60_kb(make_run_url, browser, chromium):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{make_run_url}/diary/login/")
        page.wait_for_load_state("networkidle")
        transferred = page.evaluate(
            "() => performance.getEntriesByType('navigation')"
            ".concat(performance.getEntriesByType('resource'))"
            ".map(e => [e.name, e.transferSize])"
        )
        total = sum(size for _, size in transferred)
        assert 0 < total <= LOGIN_PAGE_BUDGET, transferred
        # Coming back: the static files come from the browser's cache, only the page is fetched.
        page.goto(f"{make_run_url}/diary/login/")
        page.wait_for_load_state("networkidle")
        again = page.evaluate(
            "() => performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('/static/')).map(e => [e.name, e.transferSize])"
        )
        assert again and all(size == 0 for _, size in again), again
    finally:
        chromium.close(context, "a phone context")


STATIC_FROM_THE_NETWORK = (
    "() => performance.getEntriesByType('resource')"
    ".filter(e => e.name.includes('/static/') && e.transferSize > 0).map(e => e.name)"
)


def test_logging_in_lands_on_her_questionnaire_with_its_files_already_here(
    make_run_url, browser, chromium
):
    """After a first visit to the login page, logging in costs one request: the POST, answered
    with her questionnaire (diary/views/login.py), whose styles and scripts come from the
    browser's cache; the questionnaire pages' own scripts were fetched while she typed."""
    password = os.environ.get("DEMO_PASSWORD", "demo")
    identifier = participant_with_open_questionnaire(browser, make_run_url, password)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{make_run_url}/diary/login/")
        page.wait_for_load_state("networkidle")
        # Fetched while she types (no worker yet: the login page registers none), for a
        # landing on a questionnaire page she has begun.
        fetched = page.evaluate(
            "() => performance.getEntriesByType('resource').map(e => e.name.split('/').pop())"
        )
        for script in ("entry.", "vas."):
            assert any(name.startswith(script) for name in fetched), (script, fetched)
        page.get_by_label("Study ID or e-mail address").fill(identifier)
        page.get_by_label("Password").fill(password)
        documents: list[str] = []
        page.on(
            "request",
            lambda r: r.is_navigation_request() and documents.append(f"{r.method} {r.url}"),
        )
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Log in").click()
        assert documents == [f"POST {make_run_url}/diary/login/"]
        assert re.search(r"/diary/questionnaire/\d+/", page.url), page.url
        assert page.evaluate(STATIC_FROM_THE_NETWORK) == []
    finally:
        chromium.close(context, "a phone context")
