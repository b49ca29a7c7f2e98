"""The compliance dashboard on a laptop (1280 px wide), in headless Chromium: every column of
every table is on screen or in a table that scrolls sideways, never cut off."""

from __future__ import annotations

import pytest

from tests.browser.admin import LAPTOP, staff_log_in
from tests.browser.pages import serious_violations
from tests.conftest import make_participant

pytestmark = pytest.mark.django_db(transaction=True)

TABLES = ("compliance-sites", "compliance-overdue", "compliance-participants")

# For each header cell: is it inside the window, or inside a box the user can scroll sideways
# (which must itself be inside the window)? A box with overflow hidden or clip that cuts the
# cell off makes it unreachable. The page itself must not scroll sideways.
UNREACHABLE_HEADERS = """(tables) => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width) problems.push("the page scrolls sideways");
  for (const id of tables) {
    for (const th of document.querySelectorAll(`#${id} th`)) {
      let box = th.getBoundingClientRect();
      let reachable = true;
      const top = document.documentElement;
      for (let el = th.parentElement; el && el !== top; el = el.parentElement) {
        const overflow = getComputedStyle(el).overflowX;
        const r = el.getBoundingClientRect();
        if (overflow === "auto" || overflow === "scroll") {
          box = r;
        } else if ((overflow === "hidden" || overflow === "clip")
                   && (box.right > r.right + 0.5 || box.left < r.left - 0.5)) {
          reachable = false;
          break;
        }
      }
      if (reachable && (box.right > width + 0.5 || box.left < -0.5)) reachable = false;
      if (!reachable) problems.push(`${id}: ${th.textContent.trim()}`);
    }
  }
  return problems;
}"""


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
