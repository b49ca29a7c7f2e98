"""The unblinded per-arm summary: numbers checked against an independent computation."""

import json
from collections import defaultdict
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from scipy import stats

from diary.models import AuditAction, AuditEvent, Response, Study
from scoring.engine import ALGORITHM_VERSION
from scoring.services import scoring_sweep
from scoring.summaries import arm_summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    with override_settings(DEBUG=True):
        call_command("demo_study", stdout=StringIO())
    scoring_sweep()
    return Study.objects.get(code="ENDO-ANK")


def independent_pain(study):
    """Pain scores by treatment, and participant means, computed from rows in Python."""
    values, per_participant = defaultdict(list), defaultdict(lambda: defaultdict(list))
    responses = Response.objects.filter(
        assessment__participant__study=study,
        assessment__status="submitted",
        instrument_key="ehp30",
        superseded_by__isnull=True,
    ).select_related("assessment__participant__allocation__sequence")
    for response in responses:
        assessment = response.assessment
        allocation = assessment.participant.allocation
        block = (assessment.period_number - 1) // study.periods_per_block + 1
        treatment = allocation.sequence.blocks.get(block=block).treatment.code
        score = response.scores.get(scale="pain", algorithm_version=ALGORITHM_VERSION).value
        if score is None:
            continue
        values[treatment].append(float(score))
        per_participant[assessment.participant_id][treatment].append(float(score))
    pairs = [
        (np.mean(by["A"]), np.mean(by["P"]))
        for by in per_participant.values()
        if by["A"] and by["P"]
    ]
    return values, pairs


def test_descriptives_and_paired_tests_match_an_independent_computation(demo):
    summary = arm_summary(study=demo)
    pain = next(o for o in summary.outcomes if o.key == "pain")
    values, pairs = independent_pain(demo)
    for treatment in ("A", "P"):
        got, expected = pain.overall[treatment], np.array(values[treatment])
        assert got["n"] == len(expected)
        assert got["mean"] == pytest.approx(expected.mean())
        assert got["sd"] == pytest.approx(expected.std(ddof=1))
        assert got["median"] == pytest.approx(np.median(expected))
        assert got["q1"] == pytest.approx(np.percentile(expected, 25))
        assert got["q3"] == pytest.approx(np.percentile(expected, 75))
    comparison = pain.comparison.overall
    a, p = np.array(pairs).T
    assert comparison.n_pairs == len(pairs) > 0
    assert comparison.mean_difference == pytest.approx((a - p).mean())
    assert comparison.t_p_value == pytest.approx(stats.ttest_rel(a, p).pvalue)
    # The demo's drug effect shows: lower (better) pain under A than under placebo.
    assert comparison.mean_difference < 0
    assert {code for code, _ in pain.comparison.by_sequence} <= {"AP", "PA"}


def test_every_outcome_has_a_chart_with_a_text_alternative(demo):
    summary = arm_summary(study=demo)
    keys = [o.key for o in summary.outcomes]
    assert keys == [
        "pain",
        "control_powerlessness",
        "emotional_wellbeing",
        "social_support",
        "self_image",
        "vas_dysmenorrhea",
        "cycle_length_days",
    ]
    for outcome in summary.outcomes:
        assert outcome.chart_svg.startswith("<svg") and 'role="img"' in outcome.chart_svg
        assert outcome.chart_table and {"A Anakinra 100 mg", "P Placebo"} == {
            row["treatment"] for row in outcome.chart_table
        }
    cycle = summary.outcomes[-1]
    assert 24 <= cycle.overall["A"]["mean"] <= 34


def test_page_is_for_the_unblinded_statistician_and_each_view_is_audited(client, demo):
    from django.contrib.auth import get_user_model

    statistician = get_user_model().objects.get(username="statistician")
    client.force_login(statistician)
    response = client.get(reverse("admin:arm_summary"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Paired comparison on participant means" in text and "<svg" in text
    assert "Anakinra 100 mg" in text
    assert (
        AuditEvent.objects.filter(action=AuditAction.SUMMARY_VIEWED, actor=statistician).count()
        == 1
    )


@pytest.mark.parametrize("username", ["coordinator1", "coordinator2", "monitor", "admin"])
def test_page_does_not_exist_for_blinded_staff(client, demo, username):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    for url in (
        reverse("admin:arm_summary"),
        reverse("admin:arm_summary_study", args=["ENDO-ANK"]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Anakinra" not in response.content
    assert not AuditEvent.objects.filter(action=AuditAction.SUMMARY_VIEWED).exists()


def test_participants_are_sent_to_the_login(client, demo):
    from diary.models import Participant

    client.force_login(Participant.objects.get(subject_id="S01-001").user)
    response = client.get(reverse("admin:arm_summary"))
    assert response.status_code == 302


def test_command_prints_the_same_numbers_as_json(demo):
    out = StringIO()
    call_command("arm_summary", "--study", "ENDO-ANK", "--user", "statistician", stdout=out)
    data = json.loads(out.getvalue())
    page = arm_summary(study=demo)
    pain = next(o for o in data["outcomes"] if o["outcome"] == "pain")
    expected = next(o for o in page.outcomes if o.key == "pain")
    assert pain["by_treatment"]["A"]["mean"] == pytest.approx(expected.overall["A"]["mean"])
    assert pain["comparison"]["overall"]["t_p_value"] == pytest.approx(
        expected.comparison.overall.t_p_value
    )
    assert "NaN" not in out.getvalue()
    assert AuditEvent.objects.filter(action=AuditAction.SUMMARY_VIEWED).count() == 1


def test_command_refuses_blinded_staff(demo):
    with pytest.raises(CommandError, match="only for unblinded study staff"):
        call_command("arm_summary", "--study", "ENDO-ANK", "--user", "coordinator1")
