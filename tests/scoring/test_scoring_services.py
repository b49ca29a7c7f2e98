"""Scoring stored responses: exact values, null never 0, modules, the study's rule, idempotent
upserts and the sweep."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from diary.models import Study
from scoring.engine import ALGORITHM_VERSION
from scoring.models import Score
from scoring.selectors import responses_needing_score
from scoring.services import response_score, responses_score, scoring_sweep
from tests.conftest import make_participant
from tests.scoring.submitting import ehp30_answers, submit

pytestmark = pytest.mark.django_db


def scores_of(response) -> dict[str, Score]:
    return {score.scale: score for score in Score.objects.filter(response=response)}


def test_scores_are_stored_exactly_with_null_for_unscorable_scales(world):
    responses = submit(
        world.participant_a,
        ehp30=ehp30_answers(
            pain=[2, 2, 2, 2, 2, 2, 2, 1, 0, 0, 2],
            control_powerlessness=[0] * 6,
            emotional_wellbeing=[1, None, None, None, 2, 3],
            self_image=[None, None, 3],
        ),
        vas=63,
    )
    tally = response_score(response_id=responses["ehp30"].pk)
    assert (tally.responses, tally.scores) == (1, 5)
    response_score(response_id=responses["vas_dysmenorrhea"].pk)

    scores = scores_of(responses["ehp30"])
    # 100 * 17 / 44 = 38.636363...: four decimals stored, half away from zero.
    assert scores["pain"].value == Decimal("38.6364")
    assert (scores["pain"].items_answered, scores["pain"].items_in_scale) == (11, 11)
    # Every item answered 0 is a real 0 ...
    assert scores["control_powerlessness"].value == Decimal("0.0000")
    # ... three of six answered is enough under "half", scored over the answered ones ...
    assert scores["emotional_wellbeing"].value == Decimal("50.0000")
    assert scores["emotional_wellbeing"].items_answered == 3
    # ... one of three is not: null, never 0.
    assert scores["self_image"].value is None
    assert (scores["self_image"].items_answered, scores["self_image"].items_in_scale) == (1, 3)
    assert scores_of(responses["vas_dysmenorrhea"])["vas_dysmenorrhea"].value == Decimal("63")

    pain = scores["pain"]
    assert pain.algorithm_version == ALGORITHM_VERSION
    assert pain.missing_rule == "half"
    assert pain.applicable is True
    assert (pain.instrument_key, pain.instrument_version, pain.instrument_hash) == (
        "ehp30",
        responses["ehp30"].instrument_version,
        responses["ehp30"].instrument_hash,
    )


def test_scoring_twice_leaves_the_same_rows(world):
    responses = submit(world.participant_a)
    ids = [response.pk for response in responses.values()]
    responses_score(response_ids=ids)
    first = sorted(Score.objects.values_list("pk", "response_id", "scale", "value"))
    responses_score(response_ids=ids)
    assert sorted(Score.objects.values_list("pk", "response_id", "scale", "value")) == first
    assert len(first) == 6


def test_the_studys_missing_item_rule_is_applied_and_recorded(world):
    Study.objects.filter(pk=world.study.pk).update(missing_item_rule="complete")
    responses = submit(
        world.participant_a, ehp30=ehp30_answers(pain=[2] * 10 + [None], self_image=[1, 1, 1])
    )
    response_score(response_id=responses["ehp30"].pk)
    scores = scores_of(responses["ehp30"])
    assert scores["pain"].value is None
    assert scores["pain"].items_answered == 10
    assert scores["self_image"].value == Decimal("25.0000")
    assert {score.missing_rule for score in scores.values()} == {"complete"}


def test_a_module_that_does_not_apply_is_stored_as_not_applicable(world):
    Study.objects.filter(pk=world.study.pk).update(
        instrument_modules={"ehp30": ["ehp30_work", "ehp30_sex"]}
    )
    participant = make_participant(world.study, world.site1, "S01-002", sequence=world.ap)
    answers = ehp30_answers()
    answers |= {"ehp30_work_applies": 0, "ehp30_sex_applies": 1}
    answers |= {f"ehp30_sex_q{n}": 4 for n in range(1, 6)}
    responses = submit(participant, ehp30=answers)
    response_score(response_id=responses["ehp30"].pk)
    scores = scores_of(responses["ehp30"])
    assert (scores["ehp30_work"].applicable, scores["ehp30_work"].value) == (False, None)
    assert scores["ehp30_work"].items_answered == 0
    assert (scores["ehp30_sex"].applicable, scores["ehp30_sex"].value) == (True, Decimal("100"))


def test_modules_are_read_from_the_stored_answers_not_todays_study_setting(world):
    Study.objects.filter(pk=world.study.pk).update(instrument_modules={"ehp30": ["ehp30_work"]})
    participant = make_participant(world.study, world.site1, "S01-002", sequence=world.ap)
    answers = (
        ehp30_answers() | {"ehp30_work_applies": 1} | {f"ehp30_work_q{n}": 1 for n in range(1, 6)}
    )
    responses = submit(participant, ehp30=answers)
    Study.objects.filter(pk=world.study.pk).update(instrument_modules={})  # dropped later
    response_score(response_id=responses["ehp30"].pk)
    assert scores_of(responses["ehp30"])["ehp30_work"].value == Decimal("25")


def test_score_is_unique_per_response_scale_and_algorithm_version(world):
    response = submit(world.participant_a)["vas_dysmenorrhea"]
    fields = {
        "response": response,
        "scale": "vas_dysmenorrhea",
        "value": Decimal("63"),
        "items_answered": 1,
        "items_in_scale": 1,
        "missing_rule": "half",
        "instrument_key": "vas_dysmenorrhea",
        "instrument_version": "1.0",
        "instrument_hash": response.instrument_hash,
    }
    Score.objects.create(algorithm_version="1", **fields)
    Score.objects.create(algorithm_version="0", **fields)  # another algorithm: kept alongside
    with pytest.raises(IntegrityError):
        Score.objects.create(algorithm_version="1", **fields)


def test_unknown_response_ids_are_ignored(world):
    tally = responses_score(response_ids=[987654321])
    assert (tally.responses, tally.scores, tally.failed) == (0, 0, ())


def test_sweep_scores_unscored_and_old_algorithm_responses_only(world, monkeypatch):
    scored = submit(world.participant_a, number=1)
    unscored = submit(world.participant_b, number=1)
    old = submit(world.participant_a, number=2)
    long_ago = timezone.now() - timedelta(days=30)
    responses_score(response_ids=[r.pk for r in scored.values()], now=long_ago)
    # `old` scored by a previous algorithm only.
    with monkeypatch.context() as patch:
        patch.setattr("scoring.services.ALGORITHM_VERSION", "0")
        responses_score(response_ids=[r.pk for r in old.values()], now=long_ago)

    needing = set(responses_needing_score().values_list("pk", flat=True))
    assert needing == {r.pk for r in (*unscored.values(), *old.values())}

    tally = scoring_sweep()
    assert tally.responses == 4
    assert not responses_needing_score().exists()
    # Already current: not rewritten.
    assert set(
        Score.objects.filter(response__in=scored.values()).values_list("scored_at", flat=True)
    ) == {long_ago}
    # The old algorithm's rows stay next to the new ones, for comparison.
    assert Score.objects.filter(response__in=old.values(), algorithm_version="0").count() == 6
    assert (
        Score.objects.filter(response__in=old.values(), algorithm_version=ALGORITHM_VERSION).count()
        == 6
    )


def test_sweep_rescores_responses_after_the_study_changes_its_rule(world):
    responses = submit(world.participant_a, ehp30=ehp30_answers(pain=[2] * 10 + [None]))
    responses_score(response_ids=[r.pk for r in responses.values()])
    assert scores_of(responses["ehp30"])["pain"].value == Decimal("50")
    Study.objects.filter(pk=world.study.pk).update(missing_item_rule="complete")
    assert scoring_sweep().responses == 2
    pain = scores_of(responses["ehp30"])["pain"]
    assert (pain.value, pain.missing_rule) == (None, "complete")
