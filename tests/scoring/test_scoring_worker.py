"""Scoring through a real broker and a real Celery worker, including a broker outage at submit."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from config.embedded import EmbeddedRedis
from diary.models import Assessment, AssessmentStatus, Response
from scoring.models import Score
from scoring.tasks import scoring_sweep_task
from tests.scoring.submitting import submit


@pytest.fixture(scope="session")
def celery_worker_parameters():
    # No result backend: the ping check would wait for a result that never comes.
    return {"perform_ping_check": False, "queues": ("celery",)}


@pytest.fixture
def celery_app():
    return app


def scores_appear(response_ids: list[int], expected: int, seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        count = Score.objects.filter(response_id__in=response_ids).count()
        if count >= expected:
            return count
        time.sleep(0.1)
    return Score.objects.filter(response_id__in=response_ids).count()


@pytest.mark.django_db(transaction=True)
def test_worker_scores_a_submitted_response(world, celery_worker):
    responses = submit(world.participant_a)
    assert scores_appear([r.pk for r in responses.values()], expected=6) == 6
    assert set(
        Score.objects.filter(response=responses["ehp30"]).values_list("scale", flat=True)
    ) == {"pain", "control_powerlessness", "emotional_wellbeing", "social_support", "self_image"}


def _broker_use(url: str) -> None:
    # Celery caches its producer pool: drop the reference (kombu keeps one pool per URL, not
    # closed here so the original is still usable) so the next publish connects to `url`.
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def own_broker(monkeypatch) -> Iterator[EmbeddedRedis]:
    """A broker of this test's own, which it can stop and start again."""
    directory = Path(tempfile.mkdtemp(prefix="broker"))  # short: Unix socket paths are limited
    broker = EmbeddedRedis(directory, persistent=False)
    original = app.conf.broker_url
    url = broker.start()
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    _broker_use(url)
    yield broker
    broker.stop()
    monkeypatch.undo()
    _broker_use(original)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_submission_succeeds_with_the_broker_down_and_the_sweep_scores_it_later(
    world, own_broker, caplog
):
    own_broker.stop()
    assert not own_broker.ping()

    with caplog.at_level(logging.WARNING, logger="scoring.services"):
        responses = submit(world.participant_a)  # no exception reaches the participant

    ids = [r.pk for r in responses.values()]
    assert Response.objects.filter(pk__in=ids).count() == 2
    assessment = Assessment.objects.get(participant=world.participant_a, period_number=1)
    assert assessment.status == AssessmentStatus.SUBMITTED
    assert "left for the scoring sweep" in caplog.text
    assert not Score.objects.exists()

    own_broker.start()
    with start_worker(app, pool="solo", perform_ping_check=False, queues=("celery",)):
        scoring_sweep_task.delay()  # what beat sends every few minutes
        assert scores_appear(ids, expected=6) == 6
