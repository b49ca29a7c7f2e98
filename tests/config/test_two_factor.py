"""Staff second factor: optional for blinded staff, required before unblinded data."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("world")]


def current_token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def admin_login(client, username: str, **extra):
    return client.post(
        reverse("admin:login"), {"username": username, "password": PASSWORD, **extra}
    )


def test_blinded_coordinator_without_a_device_logs_in_with_a_password(client):
    response = admin_login(client, "coordinator1")
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


@override_settings(OTP_REQUIRED_FOR_UNBLINDED=True)
def test_unblinded_statistician_must_set_up_a_second_factor_first(client, world):
    admin_login(client, "statistician")
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url == reverse("admin:two_factor_setup")
    # No unblinded page opens meanwhile.
    allocations = client.get(reverse("admin:diary_allocation_changelist"))
    assert allocations.status_code == 302

    page = client.get(reverse("admin:two_factor_setup"))
    assert page.status_code == 200
    assert b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=world.statistician, confirmed=False)

    wrong_token = f"{(int(current_token(device)) + 500000) % 1000000:06d}"
    wrong = client.post(reverse("admin:two_factor_setup"), {"token": wrong_token})
    assert b"did not match" in wrong.content
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    # django-otp slows down guessing after a failure; a person retrying waits that out.
    device.refresh_from_db()
    device.throttle_reset()
    client.post(reverse("admin:two_factor_setup"), {"token": current_token(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("admin:diary_allocation_changelist")).status_code == 200


@override_settings(OTP_REQUIRED_FOR_UNBLINDED=True)
def test_a_confirmed_device_makes_the_token_part_of_every_login(client, world):
    device = TOTPDevice.objects.create(user=world.statistician, name="app", confirmed=True)
    response = admin_login(client, "statistician")
    assert response.status_code == 200  # the form again, asking for the token
    assert client.get(reverse("admin:index")).status_code == 302
    response = admin_login(
        client, "statistician", otp_device=device.persistent_id, otp_token=current_token(device)
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:diary_allocation_changelist")).status_code == 200


ADMIN_PAGES = [
    "admin:index",
    "admin:diary_participant_changelist",
    "admin:diary_participant_compliance",
    "admin:audit_export",
    "admin:password_change",
]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("username", ["statistician", "coordinator1", "admin"])
def test_staff_with_an_authenticator_cannot_skip_it_at_the_participant_login(
    client, world, username, debug
):
    """Attack: staff with a confirmed authenticator logged in at /diary/login/ (no code asked)
    and then opened the whole admin, DEBUG on or off."""
    user = getattr(world, username)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    with override_settings(DEBUG=debug):
        response = client.post(reverse("diary:login"), {"username": username, "password": PASSWORD})
        assert response.status_code == 200
        assert "is not correct" in response.content.decode()
        assert SESSION_KEY not in client.session
        for name in ADMIN_PAGES:
            page = client.get(reverse(name))
            assert page.status_code == 302 and page.url.startswith(reverse("admin:login")), name


@pytest.mark.parametrize("debug", [False, True])
def test_a_password_only_session_of_a_device_holder_opens_no_admin_page(client, world, debug):
    """However the session was opened without the code (another door, a session from before
    the device was added), no admin page opens until the code is given."""
    device = TOTPDevice.objects.create(user=world.coordinator1, name="app", confirmed=True)
    client.force_login(world.coordinator1)
    with override_settings(DEBUG=debug):
        for name in ADMIN_PAGES:
            page = client.get(reverse(name))
            assert page.status_code == 302 and page.url.startswith(reverse("admin:login")), name
        setup = client.get(reverse("admin:two_factor_setup"))
        assert setup.status_code == 302
        assert TOTPDevice.objects.filter(user=world.coordinator1).count() == 1
        # The admin's login asks for the code; with it, the pages open.
        response = admin_login(
            client, "coordinator1", otp_device=device.persistent_id, otp_token=current_token(device)
        )
        assert response.status_code == 302
        for name in ADMIN_PAGES:
            assert client.get(reverse(name)).status_code == 200, name


def test_blinded_staff_may_enrol_a_device_too(client, world):
    client.force_login(world.coordinator1)
    page = client.get(reverse("admin:two_factor_setup"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=world.coordinator1)
    client.post(reverse("admin:two_factor_setup"), {"token": current_token(device)})
    device.refresh_from_db()
    assert device.confirmed


def test_setup_page_refuses_anonymous_and_participants(client, world):
    response = client.get(reverse("admin:two_factor_setup"))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url
    client.force_login(world.participant_a.user)
    response = client.get(reverse("admin:two_factor_setup"))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.participant_a.user).exists()


@pytest.mark.parametrize("url", ["/diary/login/", "/admin/login/"])
def test_every_page_carries_a_content_security_policy_without_inline_scripts(client, url):
    policy = client.get(url)["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in policy


# ---- enrolling and removing an authenticator is audited ---------------------------------------


def authenticator_events():
    from diary.models import AuditEvent

    return list(
        AuditEvent.objects.filter(action__startswith="authenticator_")
        .order_by("pk")
        .values_list("action", "actor__username", "details")
    )


def test_enrolling_an_authenticator_is_audited(client, world):
    """Attack: adding (or, below, removing) the second factor of an account left no trace."""
    client.force_login(world.coordinator1)
    client.get(reverse("admin:two_factor_setup"))
    device = TOTPDevice.objects.get(user=world.coordinator1)
    assert authenticator_events() == []  # shown, not yet confirmed
    client.post(reverse("admin:two_factor_setup"), {"token": current_token(device)})
    assert authenticator_events() == [
        (
            "authenticator_added",
            "coordinator1",
            {"account": "coordinator1", "device": "Authenticator app"},
        )
    ]
    assert device.key not in str(authenticator_events())


def test_removing_an_authenticator_in_the_device_admin_is_audited(client, world):
    device = TOTPDevice.objects.create(user=world.monitor, name="phone", confirmed=True)
    client.force_login(world.admin)
    url = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert authenticator_events() == [
        ("authenticator_removed", "admin", {"account": "monitor", "device": "phone"})
    ]


def test_removing_several_at_once_records_each(client, world):
    devices = [
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        for user in (world.monitor, world.coordinator2)
    ]
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:otp_totp_totpdevice_changelist"),
        {"action": "delete_selected", "_selected_action": [d.pk for d in devices], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted(e[2]["account"] for e in authenticator_events()) == ["coordinator2", "monitor"]
    assert {e[0] for e in authenticator_events()} == {"authenticator_removed"}


def test_unconfirming_or_moving_a_device_in_the_admin_is_audited(world):
    from diary.services.authenticators import authenticator_save

    device = TOTPDevice(user=world.monitor, name="phone", confirmed=True)
    authenticator_save(device=device, actor=world.admin)
    device.user = world.coordinator2
    authenticator_save(device=device, actor=world.admin)
    device.confirmed = False
    authenticator_save(device=device, actor=world.admin)
    assert [(e[0], e[2]["account"]) for e in authenticator_events()] == [
        ("authenticator_added", "monitor"),
        ("authenticator_removed", "monitor"),
        ("authenticator_added", "coordinator2"),
        ("authenticator_removed", "coordinator2"),
    ]
