"""Load and faults at a small scale, on every run: the properties bench_reliability checks with
200 participants for 60 s (python -m bench reliability), here with 20 for a few seconds.

Real processes on loopback: an embedded Redis of the module's own (so that it can be killed),
gunicorn and a supervised Celery worker, all on the test database, started once for the module
and stopped by pid at its end (bench/reliability_stack.py). Run with -s to see the figures.
"""

from __future__ import annotations

import pytest

from bench.bench_reliability import scenario_broker, scenario_load, scenario_worker
from bench.reliability_load import clients_login, cohort_create
from bench.reliability_stack import Stack, database_url

PARTICIPANTS = 20
SECONDS = 5.0
PERIODS = 12
DRAIN = 60.0

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.db import connection

    with Stack(
        data_dir=tmp_path_factory.mktemp("reliability"),
        database_url=database_url(connection.settings_dict),
        gunicorn_workers=2,
        gunicorn_threads=4,
    ) as running:
        yield running


def _participants(stack: Stack):
    cohort = cohort_create(participants=PARTICIPANTS, periods=PERIODS)
    return cohort, clients_login(stack.port, cohort)


def test_concurrent_submissions_are_stored_once_and_scored_once(stack):
    cohort, clients = _participants(stack)
    outcome = scenario_load(stack, clients, cohort, seconds=SECONDS, drain=DRAIN)
    print(outcome.report())
    assert outcome.ok, outcome.report()
    assert outcome.tally.duplicates_refused == outcome.tally.duplicates_sent > 0


def test_submissions_go_on_while_the_broker_is_down_and_are_scored_after(stack):
    cohort, clients = _participants(stack)
    outcome = scenario_broker(stack, clients, cohort, seconds=SECONDS, drain=DRAIN)
    print(outcome.report())
    assert outcome.ok, outcome.report()


def test_worker_killed_mid_task_leaves_every_response_scored_exactly_once(stack):
    cohort, clients = _participants(stack)
    outcome = scenario_worker(
        stack,
        clients,
        cohort,
        seconds=SECONDS,
        drain=DRAIN,
        task_delay=0.5,
        visibility_timeout=3.0,
    )
    print(outcome.report())
    assert outcome.ok, outcome.report()
