"""`manage.py demo_study`: a realistic demo crossover, created once, never in production."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from diary.models import (
    Allocation,
    Assessment,
    AssessmentStatus,
    MenstrualPeriod,
    Participant,
    Response,
    StaffMembership,
    Study,
)

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "studies": list(
            Study.objects.values_list("code", "number_of_periods", "periods_per_block")
        ),
        "participants": list(
            Participant.objects.order_by("subject_id").values_list(
                "subject_id", "site__code", "status"
            )
        ),
        "allocations": sorted(
            Allocation.objects.values_list("participant__subject_id", "sequence__code")
        ),
        "periods": sorted(
            MenstrualPeriod.objects.values_list(
                "participant__subject_id", "number", "started_on", "ended_on"
            )
        ),
        "assessments": sorted(
            Assessment.objects.values_list("participant__subject_id", "period_number", "status")
        ),
        "responses": Response.objects.count(),
        "staff": sorted(
            StaffMembership.objects.values_list("user__username", "role", "site__code")
        ),
    }


@override_settings(DEBUG=True)
def test_demo_study_run_twice_gives_the_same_data():
    out = StringIO()
    call_command("demo_study", stdout=out)
    assert "Created demo study ENDO-ANK: 16 participants" in out.getvalue()
    first = snapshot()
    out = StringIO()
    call_command("demo_study", stdout=out)
    assert "already exists; nothing changed" in out.getvalue()
    assert snapshot() == first


@override_settings(DEBUG=True)
def test_demo_study_is_a_balanced_crossover_with_every_kind_of_assessment():
    call_command("demo_study", stdout=StringIO())
    study = Study.objects.get(code="ENDO-ANK")
    assert sorted(study.treatments.values_list("code", "name")) == [
        ("A", "Anakinra 100 mg"),
        ("P", "Placebo"),
    ]
    assert [
        (s.code, [b.treatment.code for b in s.blocks.order_by("block")])
        for s in study.sequences.order_by("code")
    ] == [("AP", ["A", "P"]), ("PA", ["P", "A"])]
    assert study.sites.count() == 2
    for site in study.sites.all():
        assert site.participants.count() == 8
        sequences = list(
            Allocation.objects.filter(participant__site=site).values_list(
                "sequence__code", flat=True
            )
        )
        assert sequences.count("AP") == sequences.count("PA") == 4
    statuses = set(Assessment.objects.values_list("status", flat=True))
    assert {AssessmentStatus.SUBMITTED, AssessmentStatus.MISSED, AssessmentStatus.OPEN} <= statuses
    # Every submitted assessment has both instruments; responses follow the window rule.
    for assessment in Assessment.objects.filter(status=AssessmentStatus.SUBMITTED):
        keys = sorted(assessment.responses.values_list("instrument_key", flat=True))
        assert keys == ["ehp30", "vas_dysmenorrhea"]
        assert assessment.opens_at <= assessment.submitted_at < assessment.closes_at


@override_settings(DEBUG=True)
def test_demo_logins_exist_for_staff_and_participants():
    call_command("demo_study", stdout=StringIO())
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    for username in ("admin", "coordinator1", "coordinator2", "monitor", "statistician"):
        user = users.get(username=username)
        assert user.is_staff and user.check_password("demo"), username
    participant_user = users.get(username="S01-001")
    assert participant_user.participant.subject_id == "S01-001"
    # An investigator per site, with the full name her signature prints.
    for username, site, name in (
        ("investigator1", "S01", "Ida Nordahl"),
        ("investigator2", "S02", "Sarah Southwell"),
    ):
        user = users.get(username=username)
        assert user.is_staff and user.check_password("demo") and user.get_full_name() == name
        assert list(user.memberships.values_list("role", "site__code")) == [
            ("investigator", site)
        ]
        assert list(user.groups.values_list("name", flat=True)) == ["Investigator"]
    assert participant_user.check_password("demo") and not participant_user.is_staff


@override_settings(DEBUG=False)
def test_demo_study_refuses_when_debug_is_off():
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("demo_study", stdout=StringIO())
    assert not Study.objects.exists()
