"""The Celery application; web, worker and beat share it."""

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init

from config.startup import audit_chain_key_check

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("epro")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _worker_exits_on_broker_loss(sender: Any = None, **_: Any) -> None:
    """A worker that loses an established broker connection shuts down (exit status 1) and its
    supervisor starts a fresh one (compose: `restart: unless-stopped`); start-up still waits
    for the broker (CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP).

    Reconnecting in-process is not safe with kombu 5.7 and Redis: when Redis restarted while
    the worker held unacknowledged tasks, the worker either died in kombu's restore code or
    reconnected and never consumed again, so nothing was scored, not even by the sweep
    (bench/bench_reliability.py, scenario 2). Workers only: beat and the web processes keep
    their own reconnection.
    """
    if sender is not None:
        sender.app.conf.broker_connection_retry = False


@worker_init.connect
@beat_init.connect
def _audit_chain_key_checked(sender: Any = None, **_: Any) -> None:
    """Worker and beat refuse to start with a key that is not the audit chain's."""
    audit_chain_key_check()
