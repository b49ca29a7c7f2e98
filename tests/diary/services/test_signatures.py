"""The investigator's electronic signature of a casebook: re-authentication with password and
authenticator code, the record's name, time and meaning, the hash binding that voids it on any
later change, append-only storage, and refusals that store nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary.models import SIGNATURE_MEANING, AuditAction, AuditEvent, CasebookSignature
from diary.rules.casebook import casebook_canonical, casebook_hash, milestone_content
from diary.selectors.casebook import (
    casebook_content,
    casebook_hash_now,
    signature_state,
    signature_states,
)
from diary.selectors.periods import local_today
from diary.services.change_requests import change_request_accept, change_request_make
from diary.services.corrections import response_correct
from diary.services.periods import period_end_report
from diary.services.signatures import SignatureRefused, casebook_sign
from tests.conftest import PASSWORD
from tests.diary.signing import code
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db
CORRECTION = "She phoned: the VAS mark was meant at 30, not 70"


def sign(world, device, **changes):
    participant = changes.pop("participant", world.participant_a)
    arguments = {
        "participant": participant,
        "actor": world.investigator1,
        "password": PASSWORD,
        "token": code(device),
        "hash_seen": casebook_hash_now(participant=participant),
        "time_zone": "Europe/Copenhagen",
        **changes,
    }
    return casebook_sign(**arguments)


def stored() -> tuple[int, int]:
    return CasebookSignature.objects.count(), AuditEvent.objects.exclude(action="login").count()


def test_the_signature_records_name_time_meaning_and_the_hash(world, device, casebook):
    now = datetime(2026, 3, 10, 13, 7, tzinfo=UTC)
    signature = sign(world, device, now=now)
    assert signature.printed_name == "Ida Nordahl"
    assert (signature.signed_at, signature.signer_time_zone) == (now, "Europe/Copenhagen")
    assert (
        signature.meaning
        == SIGNATURE_MEANING
        == ("I confirm that these data are accurate and complete")
    )
    # Bound to exactly the canonical casebook: its SHA-256, recomputed independently.
    content = casebook_content(participant=world.participant_a)
    assert signature.content_hash == casebook_hash(content)
    assert (
        casebook_hash(content)
        == __import__("hashlib").sha256(casebook_canonical(content)).hexdigest()
    )
    event = AuditEvent.objects.get(action=AuditAction.CASEBOOK_SIGNED)
    assert event.details["content_hash"] == signature.content_hash and event.unblinded is False
    assert signature_state(participant=world.participant_a).signed


def test_the_casebook_holds_all_her_periods_and_answers_and_nothing_of_the_allocation(
    world, casebook
):
    content = casebook_content(participant=world.participant_a)
    assert [p["number"] for p in content["periods"]] == [1]
    assert {r["instrument"][0] for r in content["responses"]} == {"ehp30", "vas_dysmenorrhea"}
    text = casebook_canonical(content).decode()
    for unblinded in ("AP", "PA", "Anakinra", "Placebo", "sequence", "treatment"):
        assert unblinded not in text


@pytest.mark.parametrize(
    "change",
    ["correction", "new submission", "period", "change request accepted"],
)
def test_any_later_change_of_her_data_voids_the_signature(world, device, casebook, change):
    signature = sign(world, device)
    vas = casebook["vas_dysmenorrhea"]
    if change == "correction":
        response_correct(
            response=vas,
            answers={"vas_dysmenorrhea": 30},
            reason=CORRECTION,
            actor=world.coordinator1,
        )
    elif change == "new submission":
        submit(world.participant_a, number=2)
    elif change == "period":
        period_end_report(
            period=world.participant_a.periods.get(number=1),
            ended_on=local_today(world.participant_a, timezone.now()),
            actor=world.participant_a.user,
        )
    else:
        request = change_request_make(
            participant=world.participant_a,
            response=vas,
            item_key="vas_dysmenorrhea",
            reason="I meant the other end",
        )
        change_request_accept(
            request=request, new_value=30, reason=CORRECTION, actor=world.investigator1
        )
    state = signature_state(participant=world.participant_a)
    assert state.void and not state.signed and not state.holds(signature)
    # The stored signature is as it was: voided by the hash, not by an edit.
    assert CasebookSignature.objects.get(pk=signature.pk).content_hash == signature.content_hash
    # ... and a new signature is asked for, and accepted.
    assert sign(world, device, token=code(device, later=1)).content_hash == state.current_hash


def test_signing_an_unchanged_signed_casebook_is_refused(world, device, casebook):
    sign(world, device)
    before = stored()
    with pytest.raises(SignatureRefused, match="already signed and has not changed"):
        sign(world, device, token=code(device, later=1))
    assert stored() == before


@pytest.mark.parametrize("wrong", ["password", "code"])
def test_a_wrong_password_or_code_is_refused_and_audited(world, device, casebook, wrong):
    arguments = {"password": "not-her-password"} if wrong == "password" else {}
    if wrong == "code":
        arguments["token"] = code(device, offset=500_000)
    signatures = CasebookSignature.objects.count()
    with pytest.raises(SignatureRefused, match="password or authenticator code is not correct"):
        sign(world, device, **arguments)
    assert CasebookSignature.objects.count() == signatures
    event = AuditEvent.objects.get(action=AuditAction.SIGNATURE_REFUSED)
    assert (event.actor, event.participant) == (world.investigator1, world.participant_a)
    assert event.details == {"failed": "password" if wrong == "password" else "authenticator code"}
    assert not AuditEvent.objects.filter(action=AuditAction.CASEBOOK_SIGNED).exists()


def test_a_casebook_changed_since_the_page_was_opened_is_not_signed(world, device, casebook):
    seen = casebook_hash_now(participant=world.participant_a)
    response_correct(
        response=casebook["vas_dysmenorrhea"],
        answers={"vas_dysmenorrhea": 30},
        reason=CORRECTION,
        actor=world.coordinator1,
    )
    before = stored()
    with pytest.raises(SignatureRefused, match="changed since you opened it"):
        sign(world, device, hash_seen=seen)
    assert stored() == before


def test_no_authenticator_no_signature(world, casebook):
    before = stored()
    with pytest.raises(SignatureRefused, match="second factor"):
        casebook_sign(
            participant=world.participant_a,
            actor=world.investigator1,
            password=PASSWORD,
            token="123456",
            hash_seen=casebook_hash_now(participant=world.participant_a),
            time_zone="Europe/Copenhagen",
        )
    assert stored() == before


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "statistician", "admin"])
def test_only_the_sites_investigator_signs(world, casebook, who):
    user = getattr(world, who)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    before = stored()
    with pytest.raises(PermissionDenied):
        casebook_sign(
            participant=world.participant_a,
            actor=user,
            password=PASSWORD,
            token="000000",
            hash_seen=casebook_hash_now(participant=world.participant_a),
            time_zone="UTC",
        )
    assert stored() == before


def test_the_investigator_of_site_1_cannot_sign_at_site_2(world, device):
    submit(world.participant_b)
    with pytest.raises(PermissionDenied):
        sign(world, device, participant=world.participant_b)


def test_a_signature_cannot_be_changed_or_removed(world, device, casebook):
    signature = sign(world, device)
    for statement in (
        lambda: CasebookSignature.objects.filter(pk=signature.pk).update(printed_name="Someone"),
        lambda: CasebookSignature.objects.filter(pk=signature.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            statement()
    assert CasebookSignature.objects.get(pk=signature.pk).printed_name == "Ida Nordahl"


def refusals(failed: str) -> int:
    return AuditEvent.objects.filter(
        action=AuditAction.SIGNATURE_REFUSED, details__failed=failed
    ).count()


def test_repeated_failed_reauthentication_locks_signing_for_the_cool_off(
    world, device, casebook, settings
):
    """Guessing her password at the signing form is limited as her login is (django-otp
    throttles only the code): after AXES_FAILURE_LIMIT failures within AXES_COOLOFF_TIME, even
    the right password and code are refused, without being checked, until the cool-off from
    the failure that reached the limit has passed."""
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    for _ in range(3):
        with pytest.raises(SignatureRefused, match="password or authenticator code is not"):
            sign(world, device, password="a-guess")
    assert refusals("password") == 3
    reached = AuditEvent.objects.filter(action=AuditAction.SIGNATURE_REFUSED).latest("pk")
    until = reached.occurred_at + timedelta(minutes=30)
    before = CasebookSignature.objects.count()
    # The right password and code now: refused, saying until when, and audited as such.
    with pytest.raises(SignatureRefused, match=r"Too many failed attempts.*until .*UTC") as err:
        sign(world, device)
    assert until.strftime("%H:%M") in str(err.value)
    # ... and more guesses are not checked either: none of them counts as a wrong password.
    for _ in range(5):
        with pytest.raises(SignatureRefused, match="Too many failed attempts"):
            sign(world, device, password="another-guess")
    assert refusals("password") == 3 and refusals("locked") == 6
    locked = AuditEvent.objects.filter(details__failed="locked").latest("pk")
    assert locked.details["until"] == until.isoformat() and locked.unblinded is False
    assert CasebookSignature.objects.count() == before
    # After the cool-off the right password and code sign.
    signature = sign(world, device, now=until + timedelta(seconds=1))
    assert signature_state(participant=world.participant_a).signed
    assert signature.signed_at == until + timedelta(seconds=1)


def test_failures_before_a_successful_signature_do_not_count_towards_the_lock(
    world, device, casebook, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        with pytest.raises(SignatureRefused):
            sign(world, device, password="a-guess")
    sign(world, device)
    submit(world.participant_a, number=2)  # new data: a new signature is due
    with pytest.raises(SignatureRefused, match="not correct"):
        sign(world, device, password="a-guess", token=code(device, later=1))
    # Two failures, a success, one failure: not locked.
    assert sign(world, device, token=code(device, later=1))


# --- Milestones ------------------------------------------------------------------------------
def milestone_hash(participant, milestone: int) -> str:
    return signature_state(participant=participant, milestone=milestone).current_hash


def test_signing_at_a_milestone_binds_exactly_her_data_up_to_it(
    world, device, casebook, milestones
):
    participant = world.participant_a
    signature = sign(world, device, milestone=1, hash_seen=milestone_hash(participant, 1))
    assert (signature.milestone, signature.milestone_label) == (1, "After period 1")
    expected = casebook_hash(
        milestone_content(casebook_content(participant=participant), after_period=1)
    )
    assert signature.content_hash == expected
    event = AuditEvent.objects.get(action=AuditAction.CASEBOOK_SIGNED)
    assert (event.details["milestone"], event.details["milestone_label"]) == (1, "After period 1")
    assert event.details["format"] == "casebook-milestone-1"
    # Her whole casebook is still unsigned: a milestone's signature is its own.
    assert not signature_state(participant=participant).signed
    # A later period's data leave the milestone's signature holding ...
    submit(participant, number=2)
    assert signature_state(participant=participant, milestone=1).signed
    # ... a change to period 1's data voids it, visibly, and a new one is accepted.
    response_correct(
        response=casebook["vas_dysmenorrhea"],
        answers={"vas_dysmenorrhea": 30},
        reason=CORRECTION,
        actor=world.coordinator1,
    )
    state = signature_state(participant=participant, milestone=1)
    assert state.void and not state.holds(signature)
    again = sign(
        world, device, milestone=1, hash_seen=state.current_hash, token=code(device, later=1)
    )
    assert again.content_hash == state.current_hash


def test_a_milestone_not_reached_is_refused_and_nothing_stored(world, device, casebook, milestones):
    before = stored()
    with pytest.raises(
        SignatureRefused,
        match="After period 2 is not reached yet: periods 1 to 2 must each be submitted",
    ):
        sign(world, device, milestone=2, hash_seen=milestone_hash(world.participant_a, 2))
    assert stored() == before


def test_a_milestone_the_study_does_not_define_is_refused(world, device, casebook, milestones):
    before = stored()
    with pytest.raises(SignatureRefused, match="defines no milestone after period 3"):
        sign(world, device, milestone=3)
    assert stored() == before


def test_signing_a_milestone_twice_unchanged_is_refused(world, device, casebook, milestones):
    sign(world, device, milestone=1, hash_seen=milestone_hash(world.participant_a, 1))
    before = stored()
    with pytest.raises(SignatureRefused, match="already signed and has not changed"):
        sign(
            world,
            device,
            milestone=1,
            hash_seen=milestone_hash(world.participant_a, 1),
            token=code(device, later=1),
        )
    assert stored() == before


def test_bad_milestones_are_refused_on_the_study(world):
    from django.core.exceptions import ValidationError

    study = world.participant_a.study
    study.signing_milestones = [{"after_period": study.number_of_periods + 1, "label": "Late"}]
    with pytest.raises(ValidationError, match="between 1 and"):
        study.full_clean()


def test_a_signature_at_a_milestone_the_study_later_removes_is_still_shown_not_signable(
    world, device, casebook, milestones
):
    participant = world.participant_a
    signature = sign(world, device, milestone=1, hash_seen=milestone_hash(participant, 1))
    milestones.signing_milestones = [{"after_period": 2, "label": "After period 2"}]
    milestones.save()
    participant.refresh_from_db()
    states = {s.milestone: s for s in signature_states(participant=participant)}
    assert states[1].signatures == (signature,) and states[1].signed
    assert not states[1].defined and states[1].label == "After period 1"
    before = stored()
    with pytest.raises(SignatureRefused, match="defines no milestone after period 1"):
        sign(world, device, milestone=1, token=code(device, later=1))
    assert stored() == before
