"""Celery tasks: thin, safe to run twice, each calling one service."""

import logging

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from diary.services.accounts import password_reset_send
from diary.services.assessments import assessments_refresh_status
from diary.services.audit_chain import audit_chain_check
from diary.services.reminders import reminders_dispatch
from diary.services.site_copy import site_copies_schedule, site_copy_build

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


@shared_task
def site_copy_build_task(copy_id: int) -> str:
    # Twice is safe: the second run finds the copy claimed (a conditional UPDATE) and returns.
    return site_copy_build(copy_id=copy_id).status


@shared_task
def site_copies_schedule_task() -> int:
    # Monthly (beat): one copy of every site, each built by its own task.
    copy_ids = site_copies_schedule()
    for copy_id in copy_ids:
        site_copy_queue(copy_id)
    return len(copy_ids)


def site_copy_queue(copy_id: int) -> None:
    """Publish site_copy_build_task (on commit of the request). With the broker unreachable
    the copy stays queued: logged, never raised; the page shows it waiting."""
    try:
        site_copy_build_task.delay(copy_id)
    except (BrokerUnreachable, OSError) as exc:
        log.warning("broker unreachable, site copy %s was not queued: %s", copy_id, exc)
