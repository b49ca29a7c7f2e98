"""Participant management in the admin: list, enrolment, invitation, withdrawal, excusal and
the read-only record, each refused to the wrong role or site."""

import html
import re
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from diary.models import (
    AssessmentStatus,
    AuditAction,
    AuditEvent,
    Participant,
    ParticipantStatus,
    Response,
    ResponseSource,
)
from tests.conftest import make_staff
from tests.scoring.submitting import EHP30, ehp30_answers, submit

pytestmark = pytest.mark.django_db

User = get_user_model()
CHANGELIST = "/admin/diary/participant/"
ASSESSMENTS = "/admin/diary/assessment/"


def change_url(participant) -> str:
    return reverse("admin:diary_participant_change", args=[participant.pk])


def test_coordinator_lists_only_her_site(client, world):
    client.force_login(world.coordinator1)
    page = client.get(CHANGELIST).content.decode()
    assert "S01-001" in page and "S02-001" not in page


def test_monitor_lists_every_site(client, world):
    client.force_login(world.monitor)
    page = client.get(CHANGELIST).content.decode()
    assert "S01-001" in page and "S02-001" in page


@pytest.mark.parametrize("who", ["outsider", "root"])
def test_staff_without_a_study_role_are_refused(client, world, who):
    user = world.outsider if who == "outsider" else make_staff("root", superuser=True)
    client.force_login(user)
    assert client.get(CHANGELIST).status_code == 404
    assert client.get(change_url(world.participant_a)).status_code == 404


def test_another_sites_participant_does_not_exist_for_a_coordinator(client, world):
    client.force_login(world.coordinator1)
    response = client.get(change_url(world.participant_b))
    assert response.status_code == 302  # the admin's "does not exist" redirect to the index
    assert client.get(change_url(world.participant_a)).status_code == 200


def test_the_list_never_shows_an_email(client, world):
    client.force_login(world.coordinator1)
    assert "@example.org" not in client.get(CHANGELIST).content.decode()


def test_the_email_is_shown_to_her_sites_coordinator_only(client, world):
    client.force_login(world.coordinator1)
    assert "s01-001@example.org" in client.get(change_url(world.participant_a)).content.decode()
    for user in (world.monitor, world.admin, world.statistician):
        client.force_login(user)
        assert "@example.org" not in client.get(change_url(world.participant_a)).content.decode()


def test_the_record_shows_assessments_and_submitted_answers(client, world):
    assessment = world.participant_a.assessments.get(period_number=1)
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.submitted_at = timezone.now()
    assessment.save()
    Response.objects.create(
        assessment=assessment,
        instrument_key="vas_dysmenorrhea",
        instrument_version="1.0",
        instrument_hash="h",
        answers={"vas_dysmenorrhea": 63},
        submitted_at=timezone.now(),
        submitted_by=world.participant_a.user,
        source=ResponseSource.PARTICIPANT_WEB,
    )
    client.force_login(world.monitor)
    page = client.get(change_url(world.participant_a)).content.decode()
    assert "Submitted responses" in page
    assert "vas_dysmenorrhea" in page and ">63 mm<" in page
    assert 'name="_save"' not in page  # read-only


def test_her_answers_read_as_questions_and_answer_labels(client, world):
    answers = ehp30_answers()
    answers["ehp30_q03"] = None
    submit(world.participant_a, ehp30=answers, vas=40)
    client.force_login(world.coordinator1)
    page = html.unescape(client.get(change_url(world.participant_a)).content.decode())
    q03 = EHP30.item("ehp30_q03").label
    assert re.search(rf"<td>3</td><td>{re.escape(q03)}</td><td>not answered</td>", page)
    q01 = EHP30.item("ehp30_q01").label
    assert re.search(rf"<td>1</td><td>{re.escape(q01)}</td><td>2 Sometimes</td>", page)
    assert "How bad was your period pain during your last period?" in page
    assert "<td>40 mm</td>" in page
    assert "demo labels" in page  # the wording is marked as ours, not the licensed one
    assert not re.search(r"Anakinra|Placebo|\b(AP|PA)\b", page)  # blinded


def test_the_response_page_reads_as_questions_too(client, world):
    response = submit(world.participant_a, vas=40)["ehp30"]
    client.force_login(world.coordinator1)
    page = html.unescape(
        client.get(reverse("admin:diary_response_change", args=[response.pk])).content.decode()
    )
    assert EHP30.item("ehp30_q01").label in page
    assert "2 Sometimes" in page


def enrol_data(world, **changes):
    data = {
        "site": world.site1.pk,
        "subject_id": "S01-050",
        "email": "new@example.org",
        "time_zone": "Europe/Berlin",
        "language": "",
        "send_invitation": "on",
    }
    return {**data, **changes}


def test_coordinator_enrols_and_invites(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.coordinator1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/diary/participant/add/", enrol_data(world))
    participant = Participant.objects.get(subject_id="S01-050")
    assert response.status_code == 302 and response.url == change_url(participant)
    assert participant.contact.email == "new@example.org"
    assert participant.time_zone == "Europe/Berlin"
    assert participant.assessments.count() == world.study.number_of_periods
    assert [m.to for m in mail.outbox] == [["new@example.org"]]
    actions = set(
        AuditEvent.objects.filter(participant=participant).values_list("action", flat=True)
    )
    assert actions == {AuditAction.ENROLLED, AuditAction.INVITATION_SENT}


def test_coordinator_cannot_enrol_at_another_site(client, world):
    client.force_login(world.coordinator1)
    page = client.post("/admin/diary/participant/add/", enrol_data(world, site=world.site2.pk))
    assert page.status_code == 200
    assert "Select a valid choice" in page.content.decode()
    assert not Participant.objects.filter(subject_id="S01-050").exists()


def test_a_duplicate_study_id_is_explained(client, world):
    client.force_login(world.coordinator1)
    page = client.post("/admin/diary/participant/add/", enrol_data(world, subject_id="S01-001"))
    assert page.status_code == 200
    assert "already exists" in page.content.decode()


@pytest.mark.parametrize("who", ["monitor", "statistician"])
def test_monitor_and_statistician_cannot_enrol(client, world, who):
    client.force_login(getattr(world, who))
    assert client.get("/admin/diary/participant/add/").status_code == 404
    assert client.post("/admin/diary/participant/add/", enrol_data(world)).status_code == 404
    assert not Participant.objects.filter(subject_id="S01-050").exists()


def post_action(client, url, action, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **extra}
    return client.post(url, data)


def test_coordinator_resends_an_invitation(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.coordinator1)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client, CHANGELIST, "send_invitation", [world.participant_a])
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["s01-001@example.org"]]
    # She is active already: the link is a password reset, and the page says so.
    assert "S01-001 (password reset)" in client.get(response.url).content.decode()
    assert AuditEvent.objects.filter(
        action=AuditAction.PASSWORD_RESET, participant=world.participant_a
    ).exists()


def test_monitor_is_offered_no_action_and_cannot_post_one(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.monitor)
    page = client.get(CHANGELIST).content.decode()
    assert 'value="send_invitation"' not in page and 'value="withdraw"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        post_action(client, CHANGELIST, "send_invitation", [world.participant_a])
    post_action(client, CHANGELIST, "withdraw", [world.participant_a], confirm="yes", reason="x")
    assert mail.outbox == []
    world.participant_a.refresh_from_db()
    assert world.participant_a.status == ParticipantStatus.ACTIVE


def test_withdrawal_asks_for_a_reason_then_withdraws(client, world):
    client.force_login(world.coordinator1)
    page = post_action(client, CHANGELIST, "withdraw", [world.participant_a])
    assert page.status_code == 200 and "Reason" in page.content.decode()
    page = post_action(client, CHANGELIST, "withdraw", [world.participant_a], confirm="yes")
    assert "This field is required" in page.content.decode()
    response = post_action(
        client, CHANGELIST, "withdraw", [world.participant_a], confirm="yes", reason="Pregnant"
    )
    assert response.status_code == 302
    assert "Withdrawn: S01-001." in client.get(response.url).content.decode()
    world.participant_a.refresh_from_db()
    assert world.participant_a.status == ParticipantStatus.WITHDRAWN
    assert world.participant_a.withdrawal_reason == "Pregnant"
    assert AuditEvent.objects.filter(
        action=AuditAction.WITHDRAWN, actor=world.coordinator1
    ).exists()


def test_coordinator_cannot_withdraw_another_sites_participant(client, world):
    client.force_login(world.coordinator1)
    post_action(client, CHANGELIST, "withdraw", [world.participant_b], confirm="yes", reason="x")
    world.participant_b.refresh_from_db()
    assert world.participant_b.status == ParticipantStatus.ACTIVE


def missed(participant, number=1):
    assessment = participant.assessments.get(period_number=number)
    now = timezone.now()
    participant.assessments.filter(pk=assessment.pk).update(
        status=AssessmentStatus.MISSED,
        opens_at=now - timedelta(days=10),
        closes_at=now - timedelta(days=3),
    )
    return assessment


def test_coordinator_excuses_a_missed_assessment_with_reason(client, world):
    assessment = missed(world.participant_a)
    client.force_login(world.coordinator1)
    page = post_action(client, ASSESSMENTS, "excuse", [assessment])
    assert page.status_code == 200 and "Excuse missed assessments" in page.content.decode()
    post_action(client, ASSESSMENTS, "excuse", [assessment], confirm="yes", reason="In hospital")
    assessment.refresh_from_db()
    assert (assessment.status, assessment.excused_reason) == ("excused", "In hospital")


def test_an_assessment_that_is_not_missed_is_not_excused(client, world):
    assessment = world.participant_a.assessments.get(period_number=2)
    client.force_login(world.coordinator1)
    response = post_action(client, ASSESSMENTS, "excuse", [assessment], confirm="yes", reason="x")
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SCHEDULED


@pytest.mark.parametrize("who", ["monitor", "coordinator2"])
def test_excusal_is_refused_to_monitor_and_other_site(client, world, who):
    assessment = missed(world.participant_a)
    client.force_login(getattr(world, who))
    post_action(client, ASSESSMENTS, "excuse", [assessment], confirm="yes", reason="x")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.MISSED


def test_randomize_action_is_offered_to_the_statistician_only(client, world):
    client.force_login(world.statistician)
    assert "randomize" in client.get(CHANGELIST).content.decode()
    for user in (world.coordinator1, world.monitor, world.admin):
        client.force_login(user)
        assert 'value="randomize"' not in client.get(CHANGELIST).content.decode()


def test_her_page_shows_the_sequence_to_the_statistician_only(client, world):
    client.force_login(world.statistician)
    assert (
        "Unblinded:</strong> sequence AP"
        in client.get(change_url(world.participant_a)).content.decode()
    )
    for user in (world.coordinator1, world.monitor, world.admin):
        client.force_login(user)
        page = client.get(change_url(world.participant_a)).content.decode()
        assert "Unblinded" not in page and "sequence" not in page


@pytest.mark.parametrize(
    "email",
    [
        "s01-001@example.org",  # participant A's
        "S01-001@EXAMPLE.ORG",  # the same, in other letters
        "  s01-001@example.org ",
        "coordinator1@example.org",  # a staff account's
    ],
)
def test_an_email_address_already_in_use_is_refused_at_enrolment(client, world, email):
    """Attack: a second participant enrolled with A's address, so a login or reset link by
    e-mail could reach the wrong person."""
    world.coordinator1.email = "Coordinator1@Example.org"
    world.coordinator1.save(update_fields=["email"])
    client.force_login(world.coordinator1)
    before = (Participant.objects.count(), AuditEvent.objects.count(), User.objects.count())
    page = client.post("/admin/diary/participant/add/", enrol_data(world, email=email))
    assert page.status_code == 200
    assert "already used by another participant or a staff account" in page.content.decode()
    assert not Participant.objects.filter(subject_id="S01-050").exists()
    assert (Participant.objects.count(), AuditEvent.objects.count(), User.objects.count()) == before


def test_the_database_keeps_one_contact_per_address_whatever_the_case(world):
    from django.db import IntegrityError, transaction

    from diary.models import ParticipantContact

    with pytest.raises(IntegrityError), transaction.atomic():
        ParticipantContact.objects.filter(participant=world.participant_b).update(
            email="S01-001@Example.ORG"
        )


@pytest.mark.parametrize("subject_id", ["s01-050", "S1-050", "S01-0500", "S01 050", "ABC", "=1+1"])
def test_a_study_id_not_of_the_studys_form_is_refused_with_the_expected_form(
    client, world, subject_id
):
    client.force_login(world.coordinator1)
    before = (Participant.objects.count(), User.objects.count())
    page = client.post("/admin/diary/participant/add/", enrol_data(world, subject_id=subject_id))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert "is not a study ID of this study: it must have the form S01-004" in text
    assert (Participant.objects.count(), User.objects.count()) == before


def test_each_study_sets_its_own_study_id_pattern(client, world):
    world.study.subject_id_pattern = r"ENDO-[0-9]{4}"
    world.study.subject_id_example = "ENDO-0001"
    world.study.full_clean()
    world.study.save()
    client.force_login(world.coordinator1)
    refused = client.post("/admin/diary/participant/add/", enrol_data(world))
    assert "it must have the form ENDO-0001" in html.unescape(refused.content.decode())
    taken = client.post("/admin/diary/participant/add/", enrol_data(world, subject_id="ENDO-0042"))
    assert taken.status_code == 302
    assert Participant.objects.filter(subject_id="ENDO-0042").exists()


def test_a_study_pattern_must_be_a_regular_expression_its_example_matches(world):
    from django.core.exceptions import ValidationError

    world.study.subject_id_pattern = "S01-("
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        world.study.full_clean()
    world.study.subject_id_pattern = r"[A-Z][0-9]{2}-[0-9]{3}"
    world.study.subject_id_example = "S1-4"
    with pytest.raises(ValidationError, match="does not match"):
        world.study.full_clean()
