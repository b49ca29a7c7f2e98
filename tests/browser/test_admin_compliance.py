"""The compliance dashboard on a laptop (1280 px wide), in headless Chromium: every column of
every table is on screen or in a table that scrolls sideways, never cut off."""

from __future__ import annotations

import pytest

from tests.browser.admin import LAPTOP, UNREACHABLE_HEADERS, staff_log_in
from tests.browser.pages import serious_violations
from tests.conftest import make_participant

pytestmark = pytest.mark.django_db(transaction=True)

TABLES = ("compliance-sites", "compliance-overdue", "compliance-participants")


@pytest.fixture
def browser_context_args() -> dict:
    return {"viewport": LAPTOP, "locale": "en-GB", "timezone_id": "Europe/Copenhagen"}


@pytest.mark.parametrize("width", [1280, 1366])
def test_every_compliance_column_is_reachable_on_a_laptop(live_server, world, page, shoot, width):
    for number in range(2, 6):
        make_participant(world.study, world.site1, f"S01-{number:03d}")
    staff_log_in(page, live_server, world.monitor)
    page.set_viewport_size({"width": width, "height": LAPTOP["height"]})
    page.goto(f"{live_server.url}/admin/diary/participant/compliance/")
    page.get_by_role("heading", name="By participant").wait_for()
    shoot(page, f"compliance-{width}")
    assert page.evaluate(UNREACHABLE_HEADERS, list(TABLES)) == []
    for column in ("Compliance", "Last activity"):
        header = page.locator("#compliance-participants th", has_text=column)
        header.scroll_into_view_if_needed()
        assert header.is_visible()
    assert serious_violations(page) == []
