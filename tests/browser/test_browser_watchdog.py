"""The browser tests' watchdog (tests/browser/conftest.py). Chromium now and then never answers
a context's close, and Playwright waits for it without a limit: one such close held a CI run past
its 90 minutes. Here a frozen browser (SIGSTOP: to Playwright it looks like that deadlock) is
ended after the limit, the close returns with a warning, and the next test's browser works."""

from __future__ import annotations

import os
import signal
import time

import pytest

LIMIT = 2.0  # seconds, instead of the tests' 30


def test_a_close_that_chromium_never_answers_ends_and_a_new_browser_works(
    chromium, browser, launch_browser
):
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<p>before</p>")
    assert chromium.pids, "the browser's own processes were found"
    for pid in chromium.pids:
        os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.warns(UserWarning, match=r"did not answer a close within 2\.0 s"):
        chromium.close(context, "a frozen browser", limit=LIMIT)
    assert LIMIT <= time.monotonic() - started < LIMIT + 20
    assert not browser.is_connected()

    again = chromium.current(launch_browser)
    assert again is not browser and again.is_connected()
    fresh = again.new_page()
    fresh.set_content("<p>after</p>")
    assert fresh.text_content("p") == "after"
    chromium.close(fresh.context, "the new browser's page")
