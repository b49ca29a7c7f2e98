"""PostgreSQL for the test suite's application role: Django's backend, except that a flush runs
as the owner and empties only the tables that hold rows.

TransactionTestCase (transactional_db, live_server, Celery workers) empties the database after
each test with `flush`, a TRUNCATE of every table. The application role has no TRUNCATE
privilege, and the `epro_no_truncate` guards refuse it even to the owner (diary/enforcement.py),
so the statements run on a connection of the owner's own, with those guards disabled for the
length of that one transaction. Never used outside the tests.

A TRUNCATE gives every table it names new files (heap, indexes, TOAST), empty or not: naming all
of the ~150 tables made each flush cost seconds, most of them on tables no test had written to.
The flush names only the tables that hold rows, with every table whose foreign keys point at
one of those (PostgreSQL refuses to truncate a referenced table without them); the tables left
out were empty already, so the database ends exactly as a TRUNCATE of every table leaves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base, operations
from psycopg import sql

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


def tables_to_empty(conn: psycopg.Connection, tables: Sequence[str]) -> list[str]:
    """Of `tables`, those holding rows, and every one of `tables` whose foreign keys point at a
    table in the result (transitively), in the order of `tables`."""
    if not tables:
        return []
    holding = {
        row[0]
        for row in conn.execute(
            sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT {} WHERE EXISTS (SELECT FROM {})").format(
                    sql.Literal(table), sql.Identifier(table)
                )
                for table in tables
            )
        )
    }
    referencing: dict[str, set[str]] = {}
    for source, target in conn.execute(
        "SELECT s.relname, t.relname FROM pg_constraint k "
        "JOIN pg_class s ON s.oid = k.conrelid JOIN pg_class t ON t.oid = k.confrelid "
        "WHERE k.contype = 'f' "
        "AND s.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
    ):
        referencing.setdefault(target, set()).add(source)
    known, wanted, todo = set(tables), set(holding), list(holding)
    while todo:
        for source in referencing.get(todo.pop(), ()):
            if source in known and source not in wanted:
                wanted.add(source)
                todo.append(source)
    return [table for table in tables if table in wanted]


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        with owner_connect() as conn:
            # With reset_sequences every table's sequence restarts, the empty ones' too; and
            # when no table holds rows, all are named as before, so that flush still emits
            # post_migrate (it does only after a statement).
            emptied = [] if reset_sequences else tables_to_empty(conn, list(tables))
            emptied = emptied or list(tables)
            guarded = {
                row[0]
                for row in conn.execute(
                    "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                    "WHERE g.tgname = %s",
                    [NO_TRUNCATE_TRIGGER],
                )
            }
        statements = super().sql_flush(
            style, emptied, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        toggled = [self.quote_name(table) for table in emptied if table in guarded]
        return [
            *(f"ALTER TABLE {t} DISABLE TRIGGER {NO_TRUNCATE_TRIGGER};" for t in toggled),
            *statements,
            *(f"ALTER TABLE {t} ENABLE TRIGGER {NO_TRUNCATE_TRIGGER};" for t in toggled),
        ]

    def execute_sql_flush(self, sql_list: Iterable[str]) -> None:
        with owner_connect() as conn:  # one transaction, committed on leaving
            for statement in sql_list:
                conn.execute(statement)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
