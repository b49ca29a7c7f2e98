"""A real Celery worker takes tasks through the real broker (not eager mode)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from diary.models import Assessment, AssessmentStatus, AuditAction, AuditEvent
from diary.tasks import assessments_refresh_task


@pytest.fixture(scope="session")
def celery_worker_parameters():
    # No result backend: the ping check would wait for a result that never comes.
    return {"perform_ping_check": False, "queues": ("celery",)}


@pytest.fixture
def celery_app():
    return app


@pytest.mark.django_db(transaction=True)
def test_worker_marks_a_closed_window_missed_through_the_broker(world, celery_worker):
    now = timezone.now()
    Assessment.objects.filter(participant=world.participant_a, period_number=1).update(
        status=AssessmentStatus.OPEN,
        opens_at=now - timedelta(days=8),
        closes_at=now - timedelta(hours=1),
    )
    assessments_refresh_task.delay()
    deadline = time.monotonic() + 20
    assessment = Assessment.objects.get(participant=world.participant_a, period_number=1)
    while assessment.status != AssessmentStatus.MISSED and time.monotonic() < deadline:
        time.sleep(0.1)
        assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.MISSED
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.MISSED, participant=world.participant_a
        ).count()
        == 1
    )
