"""Staff in the browser: an admin login with the second factor, as a person types it."""

from __future__ import annotations

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import PASSWORD

LAPTOP = {"width": 1280, "height": 800}


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
