"""Load and faults: concurrent participants submitting, the broker dying, a worker killed.

    python -m bench reliability [--participants 200] [--seconds 60]

Creates a study in a throw-away database (bench/django_setup.py), starts its own embedded Redis,
gunicorn on 127.0.0.1 and a real Celery worker (bench/reliability_stack.py), logs every
participant in, then runs three scenarios with the same participants (bench/reliability_load.py:
each one saves every questionnaire page as a draft, submits, and now and then replays or
double-clicks the submission; bench/reliability_checks.py reads what the database holds):

1. load: `--seconds` of submissions. Zero errors; every accepted submission stored exactly
   once, no duplicate from replays; every response scored exactly once per scale.
2. broker stopped: the same, with Redis SIGKILLed a third of the way in and restarted at two
   thirds. Submissions must go on succeeding; afterwards the scoring sweep is queued through
   the broker (as beat does) and every accepted response must end up scored.
3. worker killed: a worker whose tasks pause inside (bench/reliability_worker.py) is SIGKILLed
   while a task is running, and a new one started with a short visibility timeout. Late
   acknowledgement must redeliver what the dead worker held: every response ends with exactly
   one score per scale, without the sweep.

Prints the figures of each scenario; the exit status is 1 if any property failed. Every loop
is bounded in count and time, and everything started is stopped by pid, also on failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.reliability_checks import Scored, Stored, scores_wait, stored_check
from bench.reliability_load import Participant, Tally, clients_login, cohort_create, load_run
from bench.reliability_stack import Stack, database_url, wait_until

ROOT = Path(__file__).resolve().parent.parent
Clients = list[tuple[Participant, Iterator[int]]]


@dataclass
class Outcome:
    """One scenario's figures and whether its properties held."""

    name: str
    tally: Tally
    stored: Stored
    scored: Scored
    runs: Counter[int]  # response_score_task runs per response
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.tally.error_count:
            self.failures.append(f"{self.tally.error_count} errors")
        if self.tally.accepted_twice:
            self.failures.append("a duplicate submission was accepted")
        if not self.tally.accepted:
            self.failures.append("nothing was accepted")
        if not self.stored.ok:
            self.failures.append("stored submissions do not match accepted ones")
        if not self.scored.ok:
            self.failures.append("not every response scored exactly once per scale")

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        lines = [f"{self.name}: {'OK' if self.ok else 'FAILED: ' + '; '.join(self.failures)}"]
        lines += self.tally.lines()
        lines += [self.stored.line(), self.scored.line()]
        again = sum(1 for n in self.runs.values() if n > 1)
        lines.append(
            f"  scored by their own task {len(self.runs)}, by the sweep "
            f"{self.scored.responses - len(self.runs)}; tasks run {sum(self.runs.values())} "
            f"times ({again} responses more than once)"
        )
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


def _responses_of(accepted: set[int]) -> set[int]:
    from diary.models import Response

    return set(Response.objects.filter(assessment__in=accepted).values_list("pk", flat=True))


def _executions(stack: Stack, responses: set[int], *, after: float = 0.0) -> Counter[int]:
    """response_score_task runs per response (from the workers' task log)."""
    return Counter(
        response_id
        for event, response_id, at in stack.task_events()
        if event == "start" and response_id in responses and at >= after
    )


def _outcome(name: str, stack: Stack, study_id: int, tally: Tally, *, drain: float) -> Outcome:
    stored = stored_check(study_id=study_id, sent=tally.touched, accepted=tally.accepted)
    scored = scores_wait(tally.accepted, timeout=drain)
    outcome = Outcome(
        name, tally, stored, scored, _executions(stack, _responses_of(tally.accepted))
    )
    if not scored.ok:
        queued, unacked = stack.broker_backlog()
        outcome.notes.append(f"broker after the drain: {queued} queued, {unacked} unacknowledged")
    return outcome


def scenario_load(
    stack: Stack, clients: Clients, cohort, *, seconds: float, drain: float
) -> Outcome:
    """Concurrent submissions on a healthy stack."""
    tally = load_run(clients, cohort.pages, seconds=seconds)
    outcome = _outcome("1. load", stack, cohort.study_id, tally, drain=drain)
    return outcome


def scenario_broker(
    stack: Stack, clients: Clients, cohort, *, seconds: float, drain: float
) -> Outcome:
    """Redis SIGKILLed a third of the way through the load, back at two thirds."""
    outage: dict[str, float] = {}
    restarts = stack.worker_restarts

    def break_broker(began: float) -> None:
        time.sleep(max(0.0, began + seconds / 3 - time.monotonic()))
        stack.redis_kill()
        outage["down"] = time.monotonic()
        time.sleep(max(0.0, began + 2 * seconds / 3 - time.monotonic()))
        stack.redis_start()
        outage["up"] = time.monotonic()

    tally = load_run(clients, cohort.pages, seconds=seconds, during=break_broker)
    # The periodic sweep, queued through the broker that has just come back.
    stack.sweep_send()
    outcome = _outcome("2. broker stopped mid-load", stack, cohort.study_id, tally, drain=drain)
    down = outage.get("down", 0.0)
    up = outage.get("up", down)
    during = sum(down <= at <= up for at in tally.accepted_at)
    outcome.notes.append(
        f"broker down {up - down:.1f} s; submissions accepted while it was down: {during}; "
        f"worker exits on losing the broker, restarted by its supervisor: "
        f"{stack.worker_restarts - restarts}"
    )
    if not during:
        outcome.failures.append("no submission was accepted while the broker was down")
    return outcome


def scenario_worker(
    stack: Stack,
    clients: Clients,
    cohort,
    *,
    seconds: float,
    drain: float,
    task_delay: float,
    visibility_timeout: float,
) -> Outcome:
    """A worker SIGKILLed while a task runs; a new one must finish what it held."""
    stack.worker_stop()
    stack.worker_start(task_delay=task_delay)
    killed: dict[str, object] = {}

    def kill_worker(began: float) -> None:
        time.sleep(max(0.0, began + seconds / 3 - time.monotonic()))
        # Bounded: a task is running within a few task delays once submissions flow.
        wait_until(lambda: any(stack.tasks_in_flight()), timeout=max(seconds / 3, 30))
        stack.worker_kill()
        # Read after the kill: whatever had started and not returned was running when it died.
        running, returning = stack.tasks_in_flight()
        killed.update(at=time.time(), running=running, returning=returning)
        stack.worker_start(visibility_timeout=visibility_timeout)

    tally = load_run(clients, cohort.pages, seconds=seconds, during=kill_worker)
    outcome = _outcome("3. worker killed mid-task", stack, cohort.study_id, tally, drain=drain)
    running = killed.get("running", set())
    returning = killed.get("returning", set())
    in_flight = running | returning
    rerun = set(_executions(stack, in_flight, after=float(killed.get("at", 0.0))))
    outcome.notes.append(
        f"in flight at the kill: {len(in_flight)} tasks ({len(running)} before writing their "
        f"scores, {len(returning)} after, none acknowledged); run again by the new worker: "
        f"{len(rerun)}; visibility timeout {visibility_timeout:g} s"
    )
    if not in_flight:
        outcome.failures.append("no task was running when the worker was killed")
    elif rerun != in_flight:
        outcome.failures.append("a task held by the killed worker was not redelivered")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench reliability",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="of load per scenario")
    parser.add_argument("--periods", type=int, default=60, help="questionnaires per participant")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery pool processes")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--task-delay", type=float, default=0.5, help="scenario 3, seconds")
    parser.add_argument("--visibility-timeout", type=float, default=5.0, help="scenario 3")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from bench.django_setup import django_setup

    began = time.monotonic()
    teardown = django_setup()
    from django.db import connection, connections

    from config import embedded

    try:
        cohort = cohort_create(participants=args.participants, periods=args.periods)
        connections.close_all()
        stack = Stack(
            data_dir=embedded.data_root(ROOT) / "reliability-bench",
            database_url=database_url(connection.settings_dict),
            gunicorn_workers=args.gunicorn_workers,
            gunicorn_threads=args.gunicorn_threads,
            worker_concurrency=args.concurrency,
        )
        with stack:
            clients = clients_login(stack.port, cohort)
            setup = time.monotonic() - began
            common = {"seconds": args.seconds, "drain": args.drain_timeout}
            outcomes = [
                scenario_load(stack, clients, cohort, **common),
                scenario_broker(stack, clients, cohort, **common),
                scenario_worker(
                    stack,
                    clients,
                    cohort,
                    **common,
                    task_delay=args.task_delay,
                    visibility_timeout=args.visibility_timeout,
                ),
            ]
    finally:
        connections.close_all()
        teardown()

    print(
        f"{args.participants} concurrent participants, {args.seconds:g} s per scenario; "
        f"gunicorn {args.gunicorn_workers} x {args.gunicorn_threads} threads and a Celery "
        f"worker of {args.concurrency} processes on {os.cpu_count()} CPUs; set-up {setup:.0f} s, "
        f"total {time.monotonic() - began:.0f} s"
    )
    for outcome in outcomes:
        print(outcome.report())
    ok = all(outcome.ok for outcome in outcomes)
    print("all properties held" if ok else "PROPERTIES FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
