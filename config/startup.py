"""Checks a serving process makes before it starts: gunicorn's workers (config/wsgi.py), the
Celery worker and beat (config/celery.py). Each refuses to start with one line."""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import connection

from diary.rules.chain_key import key_problem

CHAIN_TABLE = "diary_auditchainlink"


def audit_chain_key_check() -> None:
    """Exit (status 3, gunicorn's "worker failed to boot": it stops rather than respawning)
    with one line when AUDIT_CHAIN_KEY is not the key the database's audit chain was started
    with. (A missing key never gets here: the settings refuse it when DEBUG is off.)"""
    with connection.cursor() as cursor:
        problem = key_problem(cursor, key=settings.AUDIT_CHAIN_KEY, table=CHAIN_TABLE)
    connection.close()
    if problem:
        sys.stderr.write(f"{problem}\n")
        raise SystemExit(3)
