"""PostgreSQL for the test suite's application role: Django's backend, except that a flush runs
as the owner.

TransactionTestCase (transactional_db, live_server, Celery workers) empties the database after
each test with `flush`, a TRUNCATE of every table. The application role has no TRUNCATE
privilege, and the `epro_no_truncate` guards refuse it even to the owner (diary/enforcement.py),
so the statements run on a connection of the owner's own, with those guards disabled for the
length of that one transaction. Never used outside the tests.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base, operations

from diary.enforcement import NO_TRUNCATE_TRIGGER


def owner_connect(**extra: object) -> psycopg.Connection:
    """A plain connection as the owner to the database the tests use, apart from Django's."""
    owner = settings.DATABASE_OWNER
    return psycopg.connect(
        dbname=settings.DATABASES["default"]["NAME"],
        user=owner.get("USER") or None,
        password=owner.get("PASSWORD") or None,
        host=owner.get("HOST") or None,
        port=owner.get("PORT") or None,
        **extra,
    )


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list: Iterable[str]) -> None:
        with owner_connect() as conn:  # one transaction, committed on leaving
            guarded = [
                row[0]
                for row in conn.execute(
                    "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = %s",
                    [NO_TRUNCATE_TRIGGER],
                )
            ]
            for table in guarded:
                conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {NO_TRUNCATE_TRIGGER}")
            for statement in sql_list:
                conn.execute(statement)
            for table in guarded:
                conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {NO_TRUNCATE_TRIGGER}")


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
