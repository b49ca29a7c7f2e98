"""Celery tasks for scoring: thin, safe to run twice, each calling one service."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

# A module import, not names: scoring.services imports this module back (the Celery pair).
from scoring import services

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
def response_score_task(*response_ids: int) -> int:
    """Score these responses (one task per submission, all its instruments); returns the number
    of scale scores written."""
    return services.responses_score(response_ids=response_ids).scores


@shared_task(**_DB_RETRY)
def scoring_sweep_task() -> int:
    """Score what was left unscored; returns the number of responses scored."""
    return services.scoring_sweep().responses
