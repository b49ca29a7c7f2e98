"""The demo study of `make run` gets scored: every response is queued when it commits, and a
worker (or the sweep) scores it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from diary.models import Response
from scoring import tasks
from scoring.models import Score
from scoring.services import scoring_sweep

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=True)
def test_every_demo_response_is_queued_for_scoring_and_scores(
    monkeypatch, django_capture_on_commit_callbacks
):
    messages: list[tuple[int, ...]] = []  # one per submission: the ids of its responses
    monkeypatch.setattr(tasks.response_score_task, "delay", lambda *ids: messages.append(ids))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_study", stdout=None)
    response_ids = set(Response.objects.values_list("pk", flat=True))
    assert response_ids
    assert sorted(i for ids in messages for i in ids) == sorted(response_ids)

    for ids in messages:  # what the worker does with each message
        tasks.response_score_task(*ids)
    assert set(Score.objects.values_list("response_id", flat=True)) == response_ids
    assert scoring_sweep().responses == 0
