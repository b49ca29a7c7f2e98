"""Celery tasks for scoring: thin, safe to run twice, each calling one service."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from scoring.services import response_score, scoring_sweep

# A database restart or failover should not lose a score: retry with growing delays. Anything
# still unscored after the last retry is picked up by the sweep.
_DB_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(**_DB_RETRY)
def response_score_task(response_id: int) -> int:
    """Score one response; returns the number of scale scores written."""
    return response_score(response_id=response_id).scores


@shared_task(**_DB_RETRY)
def scoring_sweep_task() -> int:
    """Score what was left unscored; returns the number of responses scored."""
    return scoring_sweep().responses
