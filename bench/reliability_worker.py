"""The Celery app for bench_reliability's workers: the production app, plus a record of every
execution of response_score_task (a line per response it scores) and an optional pause inside
it. Bench-only.

    celery -A bench.reliability_worker worker ...

RELIABILITY_TASK_LOG: a file to which each execution appends `start <id>` before the task
body, `scored <id>` after it (the scores are committed by then) and `end <id>` when the task
is about to return, i.e. before the late acknowledgement. RELIABILITY_TASK_DELAY (seconds):
a pause after `start` and another after `scored`, so that the kill scenario can SIGKILL the
worker while a task is running, either before or after it wrote its scores.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery.signals import task_postrun, task_prerun

from config.celery import app

__all__ = ["app"]

TASK = "scoring.tasks.response_score_task"
_LOG = os.environ.get("RELIABILITY_TASK_LOG", "")
_DELAY = float(os.environ.get("RELIABILITY_TASK_DELAY", "0"))


def _record(event: str, args: Any) -> None:
    if _LOG and args:
        # One line per response of the task, all in one short write with O_APPEND: lines of
        # concurrent pool processes never mix.
        at = f"{time.time():.3f}"
        with open(_LOG, "a", encoding="ascii") as log:
            log.write("".join(f"{event} {response_id} {at}\n" for response_id in args))


@task_prerun.connect
def _before(sender: Any = None, args: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) == TASK:
        _record("start", args)
        if _DELAY:
            time.sleep(_DELAY)


@task_postrun.connect
def _after(sender: Any = None, args: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) == TASK:
        _record("scored", args)
        if _DELAY:
            time.sleep(_DELAY)
        _record("end", args)
