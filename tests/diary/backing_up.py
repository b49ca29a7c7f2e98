"""Helpers for the backup and restore tests: empty databases on the test server, digests of
every row, and Django pointed at a restored database."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import sql

from diary.services.restore import database_url


def _connect(dbname: str, role: dict[str, Any], **extra: Any) -> psycopg.Connection:
    return psycopg.connect(
        dbname=dbname,
        user=role.get("USER") or None,
        password=role.get("PASSWORD") or None,
        host=role.get("HOST") or None,
        port=role.get("PORT") or None,
        # The audit chain's key pads, as every session of the application has them.
        options=settings.DATABASES["default"]["OPTIONS"].get("options", ""),
        **extra,
    )


def owner_on(dbname: str, **extra: Any) -> psycopg.Connection:
    return _connect(dbname, settings.DATABASE_OWNER, **extra)


def app_on(dbname: str, **extra: Any) -> psycopg.Connection:
    return _connect(dbname, settings.DATABASES["default"], **extra)


@contextlib.contextmanager
def empty_database() -> Iterator[tuple[str, str]]:
    """A new, empty database owned by the owner role (as compose's init script makes one):
    its name and the owner's URL to it. Dropped afterwards."""
    name = f"test_epro_restore_{secrets.token_hex(4)}"
    with owner_on("postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name, database_url({**settings.DATABASE_OWNER, "NAME": name})
    finally:
        with owner_on("postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def table_digests(dbname: str) -> dict[str, tuple[int, str]]:
    """Every table of schema public: its row count and the SHA-256 of its rows in order, as
    the owner reads them."""
    digests = {}
    with owner_on(dbname) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        for table in tables:
            digest, count = hashlib.sha256(), 0
            rows = conn.execute(
                sql.SQL("SELECT row_to_json(t)::text AS r FROM {} t ORDER BY r").format(
                    sql.Identifier(table)
                )
            )
            for (text,) in rows:
                digest.update(text.encode() + b"\n")
                count += 1
            digests[table] = (count, digest.hexdigest())
    return digests


@contextlib.contextmanager
def django_on(dbname: str) -> Iterator[None]:
    """Django's default connection (the application role) on database `dbname` for the
    block, then back on the test database."""
    connection = connections["default"]
    saved = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = dbname
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved
