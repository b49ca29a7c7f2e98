"""The investigator's signing page: re-authentication, the record shown on her participant's
page, the void signature when her data changes, and refusals that store nothing."""


import pytest
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from diary.models import AuditAction, AuditEvent, CasebookSignature
from diary.selectors.casebook import casebook_hash_now, signature_state
from diary.services.corrections import response_correct
from tests.conftest import PASSWORD
from tests.diary.signing import code

pytestmark = pytest.mark.django_db


@pytest.fixture
def signer(world, device) -> Client:
    """The investigator, logged in with her second factor (the admin asks it of her)."""
    client = Client()
    client.force_login(world.investigator1)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def form(world, device, **changes) -> dict:
    return {
        "hash_seen": casebook_hash_now(participant=world.participant_a),
        "password": PASSWORD,
        "token": code(device),
        "time_zone": "Europe/Copenhagen",
        "confirm": "on",
        **changes,
    }


def sign_url(world) -> str:
    return reverse("admin:casebook_sign", args=[world.participant_a.pk])


def participant_page(client, world) -> str:
    url = reverse("admin:diary_participant_change", args=[world.participant_a.pk])
    return client.get(url).content.decode()


def test_she_signs_and_her_page_shows_name_times_meaning_and_hash(world, device, signer, casebook):
    page = signer.get(sign_url(world)).content.decode()
    assert "I confirm that these data are accurate and complete" in page
    assert casebook_hash_now(participant=world.participant_a) in page
    response = signer.post(sign_url(world), form(world, device))
    assert response.status_code == 302
    signature = CasebookSignature.objects.get()
    shown = participant_page(signer, world)
    assert "Ida Nordahl" in shown and signature.content_hash in shown
    assert "UTC" in shown and "Europe/Copenhagen" in shown
    assert "unchanged since the latest signature" in shown


def test_a_later_correction_voids_the_signature_visibly(world, device, signer, casebook):
    signer.post(sign_url(world), form(world, device))
    response_correct(
        response=casebook["vas_dysmenorrhea"],
        answers={"vas_dysmenorrhea": 30},
        reason="She phoned: the mark was meant at 30",
        actor=world.coordinator1,
    )
    shown = participant_page(signer, world)
    assert "Signature void" in shown and "A new signature is needed" in shown
    assert f'href="{sign_url(world)}"' in shown
    # The coordinator sees the void signature too, and no link to sign.
    coordinator = Client()
    coordinator.force_login(world.coordinator1)
    page = participant_page(coordinator, world)
    assert "Signature void" in page and sign_url(world) not in page


@pytest.mark.parametrize("wrong", ["password", "token"])
def test_a_wrong_password_or_code_is_refused_audited_and_nothing_signed(
    world, device, signer, casebook, wrong
):
    bad = {"password": "not-her-password"} if wrong == "password" else {"token": "000000"}
    if wrong == "token" and code(device) == "000000":
        bad = {"token": "111111"}
    response = signer.post(sign_url(world), form(world, device, **bad))
    assert response.status_code == 400
    assert "password or authenticator code is not correct" in response.content.decode()
    assert not CasebookSignature.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.SIGNATURE_REFUSED).count() == 1


def test_signing_an_unchanged_signed_casebook_is_refused(world, device, signer, casebook):
    signer.post(sign_url(world), form(world, device))
    response = signer.post(sign_url(world), form(world, device, token=code(device, later=1)))
    assert response.status_code == 400
    assert "already signed and has not changed since" in response.content.decode()
    assert CasebookSignature.objects.count() == 1


def test_the_meaning_must_be_confirmed(world, device, signer, casebook):
    data = form(world, device)
    del data["confirm"]
    assert signer.post(sign_url(world), data).status_code == 400
    assert not CasebookSignature.objects.exists()


@pytest.mark.parametrize(
    "who", ["coordinator1", "coordinator2", "monitor", "statistician", "admin"]
)
def test_nobody_but_her_sites_investigator_opens_the_signing_page(client, world, casebook, who):
    client.force_login(getattr(world, who))
    assert client.get(sign_url(world)).status_code == 404
    assert client.post(sign_url(world), {"password": PASSWORD}).status_code == 404
    assert not CasebookSignature.objects.exists()


def test_many_wrong_passwords_lock_the_signing_form_and_say_until_when(
    world, device, signer, casebook, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        response = signer.post(sign_url(world), form(world, device, password="a-guess"))
        assert "password or authenticator code is not correct" in response.content.decode()
    # The right password and code: refused, the page says for how long.
    response = signer.post(sign_url(world), form(world, device))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Too many failed attempts" in page and "UTC (in 30 minutes)" in page
    assert not CasebookSignature.objects.exists()
    assert AuditEvent.objects.filter(details__failed="locked").count() == 1


def milestone_hash(world, milestone: int) -> str:
    return signature_state(participant=world.participant_a, milestone=milestone).current_hash


def test_she_signs_at_a_reached_milestone_and_her_page_shows_it_per_milestone(
    world, device, signer, casebook, milestones
):
    page = signer.get(sign_url(world) + "?milestone=1").content.decode()
    assert "You sign at the milestone <strong>After period 1</strong>" in page
    assert milestone_hash(world, 1) in page
    assert "After period 2 (periods 1 to 2)</a>: not reached yet" in page
    response = signer.post(
        sign_url(world), form(world, device, milestone="1", hash_seen=milestone_hash(world, 1))
    )
    assert response.status_code == 302
    signature = CasebookSignature.objects.get()
    assert (signature.milestone, signature.milestone_label) == (1, "After period 1")
    shown = participant_page(signer, world)
    part = shown[shown.index("After period 1 (period 1)") :]
    assert "unchanged since the latest signature" in part[: part.index("</section>")]
    assert signature.content_hash in part
    # Her whole casebook is still to be signed, and offered.
    assert f'href="{sign_url(world)}"' in shown and "Not signed yet." in shown


def test_a_milestone_not_reached_is_refused_on_the_page_and_nothing_signed(
    world, device, signer, casebook, milestones
):
    page = signer.get(sign_url(world) + "?milestone=2").content.decode()
    assert "After period 2 is not reached yet" in page
    response = signer.post(
        sign_url(world), form(world, device, milestone="2", hash_seen=milestone_hash(world, 2))
    )
    assert response.status_code == 400
    assert "is not reached yet: periods 1 to 2 must each be submitted" in response.content.decode()
    assert not CasebookSignature.objects.exists()


@pytest.mark.parametrize("milestone", ["3", "x"])
def test_a_milestone_the_study_does_not_define_is_not_found(
    world, device, signer, casebook, milestones, milestone
):
    assert signer.get(sign_url(world) + f"?milestone={milestone}").status_code == 404
    response = signer.post(sign_url(world), form(world, device, milestone=milestone))
    assert response.status_code == 404
    assert not CasebookSignature.objects.exists()
