"""Scoring tasks: queued only after commit, idempotent, and the sweep task."""

from __future__ import annotations

import pytest

from scoring import tasks
from scoring.models import Score
from scoring.tasks import response_score_task, scoring_sweep_task
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[tuple[int, ...]]:
    """The messages handed to the broker (their response ids), instead of publishing them."""
    messages: list[tuple[int, ...]] = []
    monkeypatch.setattr(tasks.response_score_task, "delay", lambda *ids: messages.append(ids))
    return messages


def test_submission_queues_one_scoring_task_for_its_responses_after_commit(
    world, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        responses = submit(world.participant_a)
    assert published == []  # nothing reaches a worker before the answers are committed
    for callback in callbacks:
        callback()
    assert len(published) == 1
    assert sorted(published[0]) == sorted(response.pk for response in responses.values())


def test_one_task_scores_every_response_of_a_submission(world):
    responses = submit(world.participant_a)
    ids = [response.pk for response in responses.values()]
    # apply(): the task body in-process; the worker tests use the broker.
    assert response_score_task.apply(args=ids).get() == 6  # five EHP-30 scales and the VAS
    assert set(Score.objects.values_list("response_id", flat=True)) == set(ids)


def test_running_the_task_twice_leaves_the_same_rows(world):
    response = submit(world.participant_a)["ehp30"]
    # apply(): this unit test runs the task body in-process; the worker tests use the broker.
    assert response_score_task.apply(args=(response.pk,)).get() == 5
    first = list(Score.objects.order_by("pk").values_list("pk", "scale", "value", "scored_at"))
    assert response_score_task.apply(args=(response.pk,)).get() == 5
    again = list(Score.objects.order_by("pk").values_list("pk", "scale", "value"))
    assert again == [row[:3] for row in first]
    assert Score.objects.count() == 5


def test_sweep_task_scores_what_was_never_queued(world):
    submit(world.participant_a)
    submit(world.participant_b)
    assert scoring_sweep_task.apply().get() == 4
    assert scoring_sweep_task.apply().get() == 0
    assert Score.objects.count() == 12
