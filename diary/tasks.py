"""Celery tasks: thin, safe to run twice, each calling one service."""

import logging

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from diary.services.accounts import password_reset_send
from diary.services.assessments import assessments_refresh_status
from diary.services.audit_chain import audit_chain_check
from diary.services.reminders import reminders_dispatch

log = logging.getLogger(__name__)


@shared_task
def assessments_refresh_task() -> dict[str, int]:
    return assessments_refresh_status()


@shared_task
def audit_chain_verify_task() -> dict[str, int | bool]:
    # Nightly (beat); reads only, plus one AuditChainCheck row: safe to run twice.
    report = audit_chain_check()
    return {"passed": report.passed, "links": report.links, "problems": report.problem_count}


@shared_task
def reminders_dispatch_task() -> dict[str, int]:
    # Safe when beat fires twice or two beats run: the log's unique key and row locks
    # guarantee each reminder is sent at most once.
    return reminders_dispatch(now=timezone.now())


@shared_task
def password_reset_send_task(identifier: str) -> bool:
    # Twice is safe: the second run finds the link just made (PASSWORD_RESET_COOLDOWN).
    return password_reset_send(identifier=identifier, now=timezone.now())


def password_reset_queue(identifier: str) -> None:
    """Publish password_reset_send_task (called on commit of every accepted request). With the
    broker unreachable the request is lost, as an e-mail could be: logged, never raised."""
    try:
        password_reset_send_task.delay(identifier)
    except (BrokerUnreachable, OSError) as exc:
        log.warning("broker unreachable, a password reset request was not queued: %s", exc)
