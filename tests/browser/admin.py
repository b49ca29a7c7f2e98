"""Staff in the browser: an admin login with the second factor, as a person types it."""

from __future__ import annotations

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import PASSWORD

LAPTOP = {"width": 1280, "height": 800}

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


def current_token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def staff_log_in(page, live_server, user) -> None:
    """Log `user` in at the admin with her password and her authenticator's current code (a
    confirmed device is made for her), and land on the admin index."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # The form then asks which device (django-otp's admin login): choose hers, give its code.
    page.locator("#id_otp_device").select_option(device.persistent_id)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_otp_token").fill(current_token(device))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Study administration")).to_be_visible()
