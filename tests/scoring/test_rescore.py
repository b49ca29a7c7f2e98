"""`manage.py rescore`: scores what needs it (or everything), filtered by study and instrument,
and audits the run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from diary.models import AuditAction, AuditEvent
from scoring.engine import ALGORITHM_VERSION
from scoring.models import Score
from scoring.services import responses_score
from tests.conftest import make_participant, make_study
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db


def rescore(*args: str) -> str:
    out = StringIO()
    call_command("rescore", *args, stdout=out)
    return out.getvalue()


def test_rescore_scores_only_what_needs_it(world):
    done = submit(world.participant_a, number=1)
    responses_score(response_ids=[r.pk for r in done.values()])
    submit(world.participant_b, number=1)
    assert "Scored 2 responses (6 scale scores)" in rescore()
    assert "Scored 0 responses (0 scale scores)" in rescore()
    assert Score.objects.filter(algorithm_version=ALGORITHM_VERSION).count() == 12


def test_rescore_all_recomputes_everything_and_is_audited(world):
    submit(world.participant_a)
    rescore()
    assert "Scored 2 responses" in rescore("--all", "--user", "statistician")
    assert Score.objects.count() == 6
    event = AuditEvent.objects.filter(action=AuditAction.RESCORED).first()
    assert event.actor == world.statistician
    assert event.details["all"] is True
    assert (event.details["responses"], event.details["scores"]) == (2, 6)


def test_rescore_filters_by_study_and_instrument(world):
    submit(world.participant_a)
    other = make_study("TEST-2")
    site = other.sites.create(code="S01", name="North")
    stranger = make_participant(other, site, "S01-001", email="stranger@example.org")
    submit(stranger)

    assert "Scored 1 responses (5 scale scores)" in rescore(
        "--study", "TEST-1", "--instrument", "ehp30"
    )
    assert set(Score.objects.values_list("response__assessment__participant", "scale")) == {
        (world.participant_a.pk, scale)
        for scale in (
            "pain",
            "control_powerlessness",
            "emotional_wellbeing",
            "social_support",
            "self_image",
        )
    }
    assert "Scored 1 responses (1 scale scores)" in rescore(
        "--study", "TEST-2", "--instrument", "vas_dysmenorrhea"
    )
    assert AuditEvent.objects.filter(action=AuditAction.RESCORED, study=other).count() == 1


def test_unknown_study_instrument_or_user_is_refused(world):
    with pytest.raises(CommandError, match="no study with code 'NOPE'"):
        rescore("--study", "NOPE")
    with pytest.raises(CommandError, match="unknown 'sf36'"):
        rescore("--instrument", "sf36")
    with pytest.raises(CommandError, match="no user 'ghost'"):
        rescore("--user", "ghost")
    assert not AuditEvent.objects.filter(action=AuditAction.RESCORED).exists()
