"""The unblinded per-arm summary: exact inputs, numbers checked against independent
computations (scipy), the page in a statistician's reading order, charts, cache."""

import json
import re
from collections import defaultdict
from fractions import Fraction
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from scipy import stats

from diary.models import AuditAction, AuditEvent, Participant, Response, Study
from diary.selectors.questionnaire import modules_collected
from scoring.definitions import instrument_get
from scoring.engine import scores_compute
from scoring.services import scoring_sweep
from scoring.statistics import R_CONVENTION
from scoring.summaries import arm_summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    cache.clear()
    with override_settings(DEBUG=True):
        call_command("demo_study", stdout=StringIO())
    scoring_sweep()
    return Study.objects.get(code="ENDO-ANK")


def exact_period_scores(study, scale="pain"):
    """(subject, sequence, period, treatment) -> the exact score, recomputed from the stored
    answers with the engine (not from Score.value)."""
    out = {}
    responses = Response.objects.filter(
        assessment__participant__study=study,
        assessment__status="submitted",
        instrument_key="ehp30",
        superseded_by__isnull=True,
    ).select_related("assessment__participant__allocation__sequence")
    instrument = instrument_get("ehp30", "1.0")
    modules = modules_collected(study=study, instrument_key="ehp30")
    for response in responses:
        assessment = response.assessment
        sequence = assessment.participant.allocation.sequence
        block = (assessment.period_number - 1) // study.periods_per_block + 1
        treatment = sequence.blocks.get(block=block).treatment.code
        scores = scores_compute(
            instrument, response.answers, rule=study.missing_item_rule, modules=modules
        )
        value = next(s.value for s in scores if s.scale == scale)
        if value is not None:
            key = (assessment.participant.subject_id, sequence.code, assessment.period_number)
            out[(*key, treatment)] = value
    return out


def outcome_of(summary, key):
    return next(o for o in summary.outcomes if o.key == key)


def test_analyses_use_the_exact_scores_recomputed_from_the_answers(demo):
    pain = outcome_of(arm_summary(study=demo), "pain")
    exact = exact_period_scores(demo)
    blocks = defaultdict(lambda: {1: [], 2: []})
    for (subject, sequence, period, _), value in exact.items():
        blocks[(subject, sequence)][1 if period <= demo.periods_per_block else 2].append(value)
    expected = {
        subject: tuple(sum(v, Fraction(0)) / len(v) if v else None for v in (by[1], by[2]))
        for (subject, _), by in blocks.items()
    }
    got = {row.participant: (row.first, row.second) for row in pain.analysis.blocks}
    # Fractions compared with ==: not one bit lost to the 4-decimal storage.
    assert got == expected
    assert any(v.denominator % 3 == 0 for v in exact.values())  # thirds: not 4-decimal exact


def test_descriptives_and_paired_tests_match_scipy(demo):
    pain = outcome_of(arm_summary(study=demo), "pain")
    exact = exact_period_scores(demo)
    for treatment in ("A", "P"):
        values = np.array([float(v) for k, v in exact.items() if k[3] == treatment])
        got = pain.overall[treatment]
        assert got["n"] == len(values)
        assert got["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert got["sd"] == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert got["median"] == pytest.approx(np.median(values), rel=1e-12)
        assert got["q1"] == pytest.approx(np.percentile(values, 25), rel=1e-12)
    design = pain.analysis.design
    a, p = np.array(
        [
            (float(r.first), float(r.second))
            if r.sequence == design.sequence_a_first
            else (float(r.second), float(r.first))
            for r in pain.analysis.blocks
            if r.complete
        ]
    ).T
    paired = pain.analysis.paired
    assert paired.n_pairs == len(a) > 0
    assert paired.mean_difference == pytest.approx((a - p).mean(), abs=1e-9)
    assert paired.t_p_value == pytest.approx(stats.ttest_rel(a, p).pvalue, abs=1e-9)
    # The demo's drug effect shows: lower (better) pain under A than under placebo.
    assert paired.mean_difference < 0


def test_primary_analysis_is_the_pooled_t_on_half_period_differences(demo):
    pain = outcome_of(arm_summary(study=demo), "pain")
    design = pain.analysis.design
    half = defaultdict(list)
    for row in pain.analysis.blocks:
        if row.complete:
            half[row.sequence].append(float(row.first - row.second) / 2)
    x, y = np.array(half[design.sequence_a_first]), np.array(half[design.sequence_b_first])
    test = stats.ttest_ind(x, y, equal_var=True)
    effect = pain.analysis.two_sequence.treatment
    assert effect.estimate == pytest.approx(x.mean() - y.mean(), abs=1e-9)
    assert effect.t_statistic == pytest.approx(test.statistic, abs=1e-9)
    assert effect.p_value == pytest.approx(test.pvalue, abs=1e-9)
    assert effect.df == len(x) + len(y) - 2
    ci = test.confidence_interval(0.95)
    assert (effect.ci_low, effect.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_mixed_model_keeps_participants_with_one_block_and_matches_statsmodels(demo):
    import pandas as pd
    import statsmodels.formula.api as smf

    pain = outcome_of(arm_summary(study=demo), "pain")
    frame = pd.DataFrame(
        [
            {"participant": k[0], "period": k[2], "treatment": k[3], "y": float(v)}
            for k, v in exact_period_scores(demo).items()
        ]
    )
    fit = smf.mixedlm(
        "y ~ C(treatment, Treatment('P')) + C(period)", frame, groups=frame.participant
    ).fit(reml=True)
    mixed = pain.analysis.mixed
    assert pain.analysis.excluded and mixed.n_participants_one_treatment == len(
        pain.analysis.excluded
    )
    assert mixed.n_observations == len(frame) and mixed.converged
    assert mixed.estimate == pytest.approx(fit.params.iloc[1], rel=1e-5)
    # Model-based SE (lme4, PROC MIXED): sqrt of [(X' V^-1 X)^-1]_11 at statsmodels' variances;
    # statsmodels' own bse also carries the variance parameters' uncertainty.
    x = fit.model.exog
    same = frame.participant.to_numpy()[:, None] == frame.participant.to_numpy()[None, :]
    v = fit.scale * np.eye(len(frame)) + float(fit.cov_re.iloc[0, 0]) * same
    covariance = np.linalg.inv(x.T @ np.linalg.solve(v, x))
    assert mixed.standard_error == pytest.approx(np.sqrt(covariance[1, 1]), rel=1e-4)


def test_every_outcome_has_its_analyses_and_charts_with_text_alternatives(demo):
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
        assert outcome.analysis is not None
        for chart in (outcome.means_chart, outcome.profile):
            assert chart.svg.startswith("<svg") and 'role="img"' in chart.svg
            assert chart.table
        assert {"A Anakinra 100 mg", "P Placebo"} == {
            row["treatment"] for row in outcome.means_chart.table
        }
    assert summary.forest.svg.startswith("<svg")
    assert [row["label"] for row in summary.forest.table] == [
        o.label for o in summary.outcomes if o.unit == "points"
    ]
    assert set(summary.holm.adjusted) == set(keys)
    cycle = summary.outcomes[-1]
    assert 24 <= cycle.overall["A"]["mean"] <= 34


def test_summary_is_json_ready_without_nan(demo):
    text = json.dumps(arm_summary(study=demo).as_dict(), allow_nan=False)
    assert "Hodges" in text and "REML" in text


def test_page_reads_in_a_statisticians_order_and_states_its_methods(client, demo):
    statistician = get_user_model().objects.get(username="statistician")
    client.force_login(statistician)
    response = client.get(reverse("admin:arm_summary"))
    assert response.status_code == 200
    text = response.content.decode()
    order = [
        "Primary: two-sequence analysis",
        "Carry-over",
        "Paired comparison on per-participant treatment means",
        "Nonparametric, period-adjusted",
        "Sensitivity: linear mixed model",
        "By period and treatment",
        "Profile plot",
    ]
    section = text[text.index('id="h-pain"') :]
    positions = [section.index(label) for label in order]
    assert positions == sorted(positions)
    assert "S01-004: no value in the second treatment block" in text
    assert escape(R_CONVENTION) in text and "Holm" in text and "Freeman" in text
    assert text.count('role="img"') == 2 * 7 + 1
    assert "Anakinra 100 mg" in text and not re.search(r"\bnan\b|\binf\b", text, re.I)
    assert (
        AuditEvent.objects.filter(action=AuditAction.SUMMARY_VIEWED, actor=statistician).count()
        == 1
    )


def test_summary_is_cached_until_the_data_change(demo):
    first = arm_summary(study=demo)
    with CaptureQueriesContext(connection) as queries:
        again = arm_summary(study=demo)
    assert len(queries) == 1 and again.as_dict() == first.as_dict()
    participant = Participant.objects.filter(study=demo).order_by("pk").first()
    participant.withdrawn_at = participant.enrolled_at
    participant.save(update_fields=["withdrawn_at"])
    with CaptureQueriesContext(connection) as queries:
        arm_summary(study=demo)
    assert len(queries) > 1


@pytest.mark.parametrize("username", ["coordinator1", "coordinator2", "monitor", "admin"])
def test_page_does_not_exist_for_blinded_staff(client, demo, username):
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
    client.force_login(Participant.objects.get(subject_id="S01-001").user)
    response = client.get(reverse("admin:arm_summary"))
    assert response.status_code == 302


def test_command_prints_the_same_numbers_as_json(demo):
    out = StringIO()
    call_command("arm_summary", "--study", "ENDO-ANK", "--user", "statistician", stdout=out)
    data = json.loads(out.getvalue())
    page = arm_summary(study=demo)
    pain = next(o for o in data["outcomes"] if o["outcome"] == "pain")
    expected = outcome_of(page, "pain")
    assert pain["by_treatment"]["A"]["mean"] == expected.overall["A"]["mean"]
    assert (
        pain["analysis"]["two_sequence"]["treatment"]["p_value"]
        == expected.analysis.two_sequence.treatment.p_value
    )
    assert "NaN" not in out.getvalue()
    assert AuditEvent.objects.filter(action=AuditAction.SUMMARY_VIEWED).count() == 1


def test_command_refuses_blinded_staff(demo):
    with pytest.raises(CommandError, match="only for unblinded study staff"):
        call_command("arm_summary", "--study", "ENDO-ANK", "--user", "coordinator1")


def test_too_little_data_is_said_per_method_and_never_shows_nan(client, world):
    """Two participants with period 1 only: nobody has both blocks, one value per treatment."""
    cache.clear()
    from tests.scoring.submitting import submit

    submit(world.participant_a, number=1)
    submit(world.participant_b, number=1)
    scoring_sweep()
    summary = arm_summary(study=world.study)
    pain = outcome_of(summary, "pain")
    assert pain.overall["A"]["n"] == 1 and pain.analysis.n_complete == 0
    assert pain.analysis.two_sequence.treatment.estimate is None
    assert pain.analysis.two_sequence.notes and pain.analysis.mixed.notes
    json.dumps(summary.as_dict(), allow_nan=False)
    client.force_login(world.statistician)
    response = client.get(reverse("admin:arm_summary_study", args=[world.study.code]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "no participant with a mean in both blocks" in text
    assert "The mixed model gave no estimate" in text
    assert not re.search(r"\bnan\b|\binf\b", text, re.I)
