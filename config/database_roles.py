"""The two database roles: an owner that migrates, and the application role everything else uses.

- The **owner** (`DATABASE_OWNER_URL`) owns the database, its schema and every table, and runs
  `manage.py migrate` (diary/management/commands/migrate.py). No running process holds it.
- The **application role** (`DATABASE_URL`), used by the web processes, the Celery worker and
  beat: no superuser, owns nothing, creates nothing, is no member of the owner. What it may do
  to each table is granted by the owner after every migrate (diary/enforcement.py): no TRUNCATE
  anywhere, no UPDATE or DELETE on audit events, row history and submitted responses.

This module creates the two roles on a server where we hold a superuser (the embedded server of
`make run` and `make test`, the CI machine's server; compose does the same in
deploy/postgres/init-roles.sh) and says in one line what is wrong with a configuration. It
imports no Django model: config.run and the test settings use it before Django is set up.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from config.env import database_from_url

OWNER_ROLE = "epro_owner"
APP_ROLE = "epro_app"

_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


class OwnerNotConfigured(Exception):
    """DATABASE_OWNER_URL is not set where the owner is needed."""


@contextlib.contextmanager
def connected_as_owner(alias: str = "default") -> Iterator[None]:
    """Connect Django's `alias` with the owner's credentials (settings.DATABASE_OWNER) for the
    length of the block, to the database it names now (the test database, once created).

    The default alias and not an alias of its own: data migrations and post_migrate receivers
    write through the default alias (`apps.get_model(...).objects`), so that alias must be the
    owner while migrating. Raises OwnerNotConfigured when DATABASE_OWNER_URL is not set.
    """
    from django.conf import settings
    from django.db import connections

    owner = getattr(settings, "DATABASE_OWNER", None)
    if not owner:
        raise OwnerNotConfigured(
            "DATABASE_OWNER_URL: must be set: migrations run as the owner role, and "
            "DATABASE_URL's application role may create nothing"
        )
    connection = connections[alias]
    saved = {key: connection.settings_dict.get(key) for key in _CREDENTIALS}

    def disconnect() -> None:
        connection.close()
        # A psycopg pool (DB_POOL) keeps the credentials it was opened with: drop it too.
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close_pool()

    disconnect()
    connection.settings_dict.update({key: owner.get(key) for key in _CREDENTIALS})
    try:
        yield
    finally:
        disconnect()
        connection.settings_dict.update(saved)


def url_with_role(url: str, role: str) -> str:
    """`url` with its user replaced by `role` (and no password: trust or peer authentication,
    as on the embedded and CI servers)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(role, safe='')}@{host}"))


def roles_bootstrap(
    admin: dict[str, Any],
    *,
    database: str,
    owner: str = OWNER_ROLE,
    app: str = APP_ROLE,
    adopt: bool = False,
) -> None:
    """Create the owner and application login roles and `database`, owned by the owner, from a
    superuser connection (`admin`: psycopg connection keywords). Safe to run again: existing
    roles get their attributes reset to these.

    `adopt` hands the tables, sequences, views and functions of schema public that another role
    owns to the owner: an embedded database created before there were two roles.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(**{**admin, "dbname": "postgres"}, autocommit=True) as conn:
        for role, attributes in (
            (owner, "LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS"),
            (app, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(f"{verb} ROLE {{}} {attributes}").format(sql.Identifier(role)))
        member = conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [app, owner]).fetchone()
        if member and member[0]:
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(*map(sql.Identifier, (owner, app))))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        verb = "ALTER DATABASE {} OWNER TO {}" if exists else "CREATE DATABASE {} OWNER {}"
        conn.execute(sql.SQL(verb).format(sql.Identifier(database), sql.Identifier(owner)))
    if adopt:
        with psycopg.connect(**{**admin, "dbname": database}, autocommit=True) as conn:
            conn.execute(sql.SQL(_ADOPT).format(owner=sql.Literal(owner)))


# Objects of schema public owned by anyone but the owner are given to it. Sequences that belong
# to a column (identity, serial) follow their table and cannot be altered alone.
_ADOPT = """
DO $$
DECLARE
    owner_name text := {owner};
    item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass::text AS name,
               CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                    WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND pg_get_userbyid(c.relowner) <> owner_name
          AND NOT EXISTS (
              SELECT 1 FROM pg_depend d
              WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
                AND d.deptype IN ('a', 'i') AND c.relkind = 'S'
          )
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, owner_name);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure::text AS name FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND pg_get_userbyid(p.proowner) <> owner_name
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', item.name, owner_name);
    END LOOP;
    EXECUTE format('ALTER SCHEMA public OWNER TO %I', owner_name);
END $$;
"""


def role_problem(cursor: Any, *, app: str) -> str | None:
    """What is wrong with the application role `app`, asked on the owner's connection: one line
    naming the variable to fix, or None. Run before migrating."""
    cursor.execute("SELECT current_user")
    owner = cursor.fetchone()[0]
    if app == owner:
        return (
            f"DATABASE_URL: names the owner role {owner!r}, as DATABASE_OWNER_URL does; the "
            "application needs a role of its own (README: Database roles)"
        )
    cursor.execute(
        "SELECT rolsuper, rolcreaterole, rolreplication, rolbypassrls, "
        "pg_has_role(oid, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s",
        [owner, app],
    )
    row = cursor.fetchone()
    if row is None:
        return f"DATABASE_URL: role {app!r} does not exist; create it (README: Database roles)"
    for flag, what in zip(
        row,
        (
            "a superuser",
            "allowed to create roles",
            "a replication role",
            "allowed to bypass row security",
            f"a member of the owner role {owner!r}",
        ),
        strict=True,
    ):
        if flag:
            return (
                f"DATABASE_URL: role {app!r} is {what}; the application role must not be "
                "(README: Database roles)"
            )
    return None


def database_problem(cursor: Any, *, app: str) -> str | None:
    """What the application role can still do in this database that it must not, once the owner
    has applied its privileges: one line, or None. Run after migrating."""
    cursor.execute(
        """
        SELECT
            (SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
             WHERE r.rolname = %(app)s AND c.relnamespace = 'public'::regnamespace),
            has_database_privilege(%(app)s, current_database(), 'CREATE, TEMPORARY'),
            has_schema_privilege(%(app)s, 'public', 'CREATE')
        """,
        {"app": app},
    )
    owned, database_create, schema_create = cursor.fetchone()
    if owned:
        return (
            f"DATABASE_URL: role {app!r} owns {owned} tables or sequences; the owner role must "
            "own them all (ALTER TABLE ... OWNER TO the owner)"
        )
    if database_create:
        return (
            f"DATABASE_URL: role {app!r} may create schemas or temporary tables in this "
            "database; make DATABASE_OWNER_URL's role the database's owner"
        )
    if schema_create:
        return (
            f"DATABASE_URL: role {app!r} may create objects in schema public; make "
            "DATABASE_OWNER_URL's role the schema's owner"
        )
    return None


def main(argv: list[str] | None = None) -> None:
    """`python -m config.database_roles ADMIN_URL DATABASE`: create both roles and the database
    on a server where ADMIN_URL is a superuser (CI), and print the two URLs."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument(
        "admin_url", help="a superuser's URL: postgres://postgres@host:5432/postgres"
    )
    parser.add_argument("database")
    args = parser.parse_args(argv)
    config = database_from_url(args.admin_url, variable="ADMIN_URL")
    admin = {
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "connect_timeout": 5,
    }
    roles_bootstrap(admin, database=args.database)
    base = args.admin_url.rsplit("/", 1)[0] + f"/{args.database}"
    sys.stdout.write(f"DATABASE_URL={url_with_role(base, APP_ROLE)}\n")
    sys.stdout.write(f"DATABASE_OWNER_URL={url_with_role(base, OWNER_ROLE)}\n")


if __name__ == "__main__":
    main()
