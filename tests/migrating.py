"""Migrating the test database inside a test, as the real migrate command does it: as the owner
role, with the application role's grants and guards applied again afterwards (a migration back
and forth drops and re-creates tables, and the new tables start with no grants)."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from config.database_roles import connected_as_owner
from diary.enforcement import enforcement_apply


def migrate_as_owner(targets: list[tuple[str, str]]):
    """Migrate the default database to `targets` as the owner; the historical apps there.

    Needs a test with django_db(transaction=True): the connection is reopened as the owner."""
    with connected_as_owner():
        MigrationExecutor(connection).migrate(targets)
        enforcement_apply(using="default")
    return MigrationExecutor(connection).loader.project_state(targets).apps
