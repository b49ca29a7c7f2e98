"""Celery tasks: thin, safe to run twice, each calling one service."""

from celery import shared_task
from django.utils import timezone

from diary.services.assessments import assessments_refresh_status
from diary.services.reminders import reminders_dispatch


@shared_task
def assessments_refresh_task() -> dict[str, int]:
    return assessments_refresh_status()


@shared_task
def reminders_dispatch_task() -> dict[str, int]:
    # Safe when beat fires twice or two beats run: the log's unique key and row locks
    # guarantee each reminder is sent at most once.
    return reminders_dispatch(now=timezone.now())
