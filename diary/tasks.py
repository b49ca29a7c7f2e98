"""Celery tasks: thin, safe to run twice, each calling one service."""

from celery import shared_task

from diary.services.assessments import assessments_refresh_status


@shared_task
def assessments_refresh_task() -> dict[str, int]:
    return assessments_refresh_status()
