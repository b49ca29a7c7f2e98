"""Scoring tasks: queued only after commit, idempotent, and the sweep task."""

from __future__ import annotations

import pytest

from scoring import tasks
from scoring.models import Score
from scoring.tasks import response_score_task, scoring_sweep_task
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[int]:
    """Response ids handed to the broker, instead of publishing them."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.response_score_task, "delay", ids.append)
    return ids


def test_submission_queues_one_scoring_task_per_response_after_commit(
    world, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        responses = submit(world.participant_a)
    assert published == []  # nothing reaches a worker before the answers are committed
    for callback in callbacks:
        callback()
    assert sorted(published) == sorted(response.pk for response in responses.values())


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
