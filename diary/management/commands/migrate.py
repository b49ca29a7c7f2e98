"""`manage.py migrate`, run as the owner role (DATABASE_OWNER_URL).

The application role (DATABASE_URL) can create no table; migrating as it would fail on the
first one. So `migrate` connects the default alias as the owner for as long as it runs (data
migrations write through that alias too), checks first that the application role is one it may
grant privileges to (config/database_roles.py), and after the migrations grants them
(diary/enforcement.py). Each wrong configuration is one line.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections

from config.database_roles import OwnerNotConfigured, connected_as_owner, role_problem


class Command(migrate.Command):
    help = "Migrate as the owner role (DATABASE_OWNER_URL); then grant the application role."

    def execute(self, *args: Any, **options: Any) -> Any:
        # execute, not handle: the system checks that run first connect to the database too.
        database = options["database"]
        if database != DEFAULT_DB_ALIAS:
            raise CommandError(f"--database {database}: this project migrates its one database")
        try:
            with connected_as_owner(database):
                with connections[database].cursor() as cursor:
                    problem = role_problem(cursor, app=settings.DATABASE_APP_ROLE)
                if problem:
                    raise CommandError(problem)
                return super().execute(*args, **options)
        except OwnerNotConfigured as exc:
            raise CommandError(str(exc)) from None
