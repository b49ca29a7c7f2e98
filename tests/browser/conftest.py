"""Browser tests: Playwright driving Debian's headless Chromium against pytest-django's live server.

Skipped as a whole only when /usr/bin/chromium is missing (`.ci/run` installs it, so CI always
runs them). Screenshots of every page go to test-artifacts/browser/.
"""

from __future__ import annotations

import os
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 360, "height": 740}

# Chromium now and then never answers a context's close (CDP Target.disposeBrowserContext), and
# Playwright waits for that answer with no time limit: one such close held a CI run past its 90
# minutes. So every browser test runs under a watchdog that ends the browser's processes (ours,
# by pid) when Chromium stops answering; the wait then ends with an error, and the next test gets
# a new browser.
CLOSE_LIMIT = 30  # seconds for a context to close; it takes well under one
TEST_LIMIT = 300  # seconds for a whole browser test; the slowest takes about 9


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason="needs /usr/bin/chromium"))


@pytest.fixture(autouse=True, scope="package")
def _orm_beside_playwright():
    """Playwright's sync API keeps an event loop in the test thread; the tests' own ORM calls
    (and pytest-django's flush after each test) are still synchronous and safe. Set for this
    package only, so the variable never reaches other tests or their subprocesses (`check
    --deploy` rejects it). Tests list their database fixtures before `page`, so the test
    database is set up before Playwright starts its loop."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ],
    }


# Playwright lives for this package only (pytest-playwright keeps it for the whole session):
# its event loop must be gone before later tests use the ORM in the main thread.
@pytest.fixture(scope="package")
def playwright(_pw_api_request_contexts):
    pw = sync_playwright().start()
    if _pw_api_request_contexts:
        _pw_api_request_contexts.instrument(pw)
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright, browser_name: str):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict, browser_type):
    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


def _browser_processes() -> set[int]:
    """The Chromium browser processes this test run's Playwright driver started (children of
    its node process, which is a child of this one)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name() and child.parent().name().startswith("node"):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


class Chromium:
    """The package's one browser, launched when a test first asks for it and again after a
    watchdog had to end it; `end()` kills its processes, which ends any wait on it."""

    def __init__(self) -> None:
        self.browser = None
        self.pids: set[int] = set()

    def current(self, launch):
        if self.browser is None or not self.browser.is_connected():
            before = _browser_processes()
            self.browser = launch()
            self.pids = _browser_processes() - before
        return self.browser

    def end(self) -> None:
        for pid in self.pids:
            try:
                top = psutil.Process(pid)
                for process in [*top.children(recursive=True), top]:
                    process.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                continue

    def close(self, closable, what: str, limit: float = CLOSE_LIMIT) -> None:
        """closable.close() (a context's or the browser's), ending the browser when Chromium
        has not answered within `limit` seconds. Whatever the test checked has run by then, so
        that is a warning, not a failure."""
        with watchdog(self, limit) as fired:
            try:
                closable.close()
            except PlaywrightError:
                if not fired.is_set():
                    raise
        if fired.is_set():
            warnings.warn(
                f"{what}: Chromium did not answer a close within {limit} s; its processes "
                f"{sorted(self.pids)} were ended and the next test launches it again",
                stacklevel=2,
            )


@contextmanager
def watchdog(chromium: Chromium, seconds: float) -> Iterator[threading.Event]:
    """Ends the browser if what runs inside takes longer than `seconds`; the event says so."""
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        chromium.end()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


@pytest.fixture(scope="package")
def chromium(playwright):
    held = Chromium()
    yield held
    if held.browser is not None and held.browser.is_connected():
        held.close(held.browser, "closing the browser")


@pytest.fixture
def browser(chromium, launch_browser):
    return chromium.current(launch_browser)


@pytest.fixture(autouse=True)
def _browser_test_time_limit(request, chromium):
    with watchdog(chromium, TEST_LIMIT) as fired:
        yield
    if fired.is_set():
        pytest.fail(
            f"{request.node.nodeid}: Chromium did not answer within {TEST_LIMIT} s; its "
            f"processes {sorted(chromium.pids)} were ended"
        )


@pytest.fixture
def context(new_context, chromium, request):
    """pytest-playwright's context, closed under the watchdog."""
    opened = new_context()
    yield opened
    chromium.close(opened, request.node.nodeid)


@pytest.fixture(scope="package")
def browser_context_args() -> dict:
    return {
        "viewport": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "en-GB",
        "timezone_id": "Europe/Copenhagen",
    }


@pytest.fixture
def shoot(request: pytest.FixtureRequest):
    """shoot(page, name): save a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def _shoot(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shoot
