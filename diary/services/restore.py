"""Restore a backup (diary/services/backups.py) into an empty database, and make it usable.

In order, stopping at the first problem with one line and, until pg_restore, nothing written:

1. the manifest is read and every file's size and SHA-256 checked against it: a damaged or
   altered dump is refused;
2. the backup's migrations must all be known to this code (a backup of a newer version is
   refused: restore it with that version);
3. the target database must be empty (no table, view, sequence or function outside the system
   schemas): a restore never merges into or overwrites data;
4. pg_restore (at least as new as the pg_dump that wrote the archive and as the target server)
   loads the archive as the owner role in one transaction, stopping at the first error, which
   leaves the database empty again. `--no-owner --no-acl`: every object belongs to the role
   restoring, and the privileges are not copied from the old server, they are granted anew:
5. the row count of every table and the latest audit event are compared with the manifest;
6. `manage.py migrate` runs against the target, as the owner: it applies any migration newer
   than the backup and re-grants the application role its privileges and the append-only
   guards (diary/enforcement.py), whatever the old server's roles were.

The keyed audit chain is verified afterwards with `manage.py audit_verify`, with the
AUDIT_CHAIN_KEY of the installation that wrote the backup (the key is never in a backup).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.migrations.loader import MigrationLoader
from psycopg import sql

from config.database_roles import url_with_role
from config.env import database_from_url
from diary.services.backups import DUMP, FORMAT, MANIFEST, file_sha256
from diary.services.postgres_tools import (
    ToolError,
    connection_env,
    server_major,
    tool_find,
    tool_run,
)


class RestoreRefused(Exception):
    """The backup or the target is not fit to restore; nothing was written. One line."""


class RestoreFailed(Exception):
    """The restore began and failed; the message says what the target holds now. One line."""


@dataclass(frozen=True)
class RestoreReport:
    database: str
    tables: int
    rows: int
    migrate_output: str


def database_url(config: dict[str, Any]) -> str:
    """A postgres:// URL for a Django DATABASES entry (a socket directory percent-encoded)."""
    user = quote(config.get("USER") or "", safe="")
    password = config.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    host = quote(config.get("HOST") or "", safe="")
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(config['NAME'], safe='')}"


def backup_verify(path: Path) -> dict[str, Any]:
    """The manifest of the backup in directory `path`, once every file it lists has the size
    and SHA-256 it records. Raises RestoreRefused naming the first file that does not."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise RestoreRefused(f"{path}: no {MANIFEST}: not a backup, or an incomplete one")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RestoreRefused(
            f"{manifest_path}: not valid JSON ({exc}); refusing to restore"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise RestoreRefused(f"{manifest_path}: format {found!r}, this version restores {FORMAT!r}")
    files = manifest.get("files")
    if not isinstance(files, dict) or DUMP not in files:
        raise RestoreRefused(f"{manifest_path}: lists no {DUMP}; refusing to restore")
    for name, expected in sorted(files.items()):
        file = path / name
        if Path(name).name != name or not file.is_file():
            raise RestoreRefused(f"{path}: {name} is missing; refusing to restore")
        if not isinstance(expected, dict):
            raise RestoreRefused(f"{manifest_path}: no size and SHA-256 for {name}; refusing")
        size = file.stat().st_size
        if size != expected.get("bytes"):
            raise RestoreRefused(
                f"{file}: {size} bytes, the manifest says {expected.get('bytes')}: the backup "
                "is damaged or was altered; refusing to restore"
            )
        digest = file_sha256(file)
        if digest != expected.get("sha256"):
            raise RestoreRefused(
                f"{file}: SHA-256 {digest} does not match the manifest's "
                f"{expected.get('sha256')}: the backup is damaged or was altered; refusing to "
                "restore"
            )
    return manifest


def _migrations_known(manifest: dict[str, Any]) -> None:
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    for app, name in sorted((manifest.get("migration_heads") or {}).items()):
        if (app, name) not in graph.nodes:
            raise RestoreRefused(
                f"migration {app}.{name} of the backup is unknown to this version of the "
                "application: the backup was made by a newer one; restore it with that version"
            )


def _connect(config: dict[str, Any]) -> psycopg.Connection:
    try:
        return psycopg.connect(
            dbname=config["NAME"],
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            connect_timeout=10,
            autocommit=True,
        )
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RestoreRefused(
            f"--database-url: cannot connect to {config['NAME']!r}: {first}"
        ) from None


_USER_OBJECTS = """
SELECT
    (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'),
    (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                       WHERE d.objid = p.oid AND d.deptype = 'e'))
"""


def _target_check(config: dict[str, Any]) -> int:
    """The target server's major version, once the target database is known to be empty."""
    with _connect(config) as conn:
        version_num = int(conn.execute("SHOW server_version_num").fetchone()[0])
        relations, functions = conn.execute(_USER_OBJECTS).fetchone()
    if relations or functions:
        raise RestoreRefused(
            f"database {config['NAME']!r} is not empty ({relations} tables, views or "
            f"sequences, {functions} functions): restore goes into an empty database; create "
            "one owned by the owner role"
        )
    return server_major(version_num)


def _restored_check(config: dict[str, Any], manifest: dict[str, Any]) -> tuple[int, int]:
    """Every table's row count and the latest audit event as the manifest records them; the
    number of tables and rows."""
    expected: dict[str, int] = manifest.get("row_counts") or {}
    with _connect(config) as conn:
        for table, count in sorted(expected.items()):
            found = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            if found != count:
                raise RestoreFailed(
                    f"table {table}: {found} rows restored, the manifest says {count}; the "
                    f"database {config['NAME']!r} now holds the restored data: drop it and "
                    "restore again"
                )
        latest = manifest.get("latest_audit_event")
        if latest is not None:
            row = conn.execute(
                "SELECT id, occurred_at FROM diary_auditevent ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is None or (row[0], row[1]) != (
                latest["id"],
                datetime.fromisoformat(latest["occurred_at"]),
            ):
                raise RestoreFailed(
                    f"the latest audit event restored is {row!r}, the manifest says {latest!r}; "
                    f"the database {config['NAME']!r} now holds the restored data: drop it and "
                    "restore again"
                )
    return len(expected), sum(expected.values())


def _migrate(url: str, *, app_role: str) -> str:
    """`manage.py migrate` against the database at `url`, as its owner, in a process of its
    own (its settings name that database); its output."""
    env = {
        **os.environ,
        "DATABASE_OWNER_URL": url,
        "DATABASE_URL": url_with_role(url, app_role),
    }
    result = subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "migrate", "--noinput"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("CommandError: ")]
        reason = (errors or lines or [f"exit {result.returncode}"])[-1]
        raise RestoreFailed(
            f"the data is restored, but migrate failed: {reason}; fix that and run "
            "`manage.py migrate` against the restored database"
        )
    return result.stdout


def backup_restore(
    *, path: Path, database_url: str, app_role: str, bin_dir: Path | None = None
) -> RestoreReport:
    """Restore the backup in directory `path` into the empty database at `database_url` (the
    owner role's URL), then migrate it, granting `app_role` its privileges.

    Raises RestoreRefused when the backup fails its checks or the target is not empty
    (nothing written), RestoreFailed when pg_restore (the target left empty: one transaction),
    the comparison with the manifest or migrate fails.
    """
    try:
        target = database_from_url(database_url, variable="--database-url")
    except ImproperlyConfigured as exc:
        raise RestoreRefused(str(exc)) from None
    manifest = backup_verify(path)
    _migrations_known(manifest)
    target_major = _target_check(target)
    pg_dump_major = int((manifest.get("pg_dump") or {}).get("major") or 0)
    try:
        pg_restore = tool_find(
            "pg_restore", minimum_major=max(pg_dump_major, target_major), bin_dir=bin_dir
        )
    except ToolError as exc:
        raise RestoreRefused(str(exc)) from None
    try:
        tool_run(
            pg_restore,
            [
                "--no-owner",
                "--no-acl",
                "--single-transaction",
                "--exit-on-error",
                "--no-password",
                f"--dbname={target['NAME']}",
                str(path / DUMP),
            ],
            env=connection_env(target),
        )
    except ToolError as exc:
        raise RestoreFailed(f"{exc}; nothing was restored (one transaction)") from None
    tables, rows = _restored_check(target, manifest)
    output = _migrate(database_url, app_role=app_role)
    return RestoreReport(database=target["NAME"], tables=tables, rows=rows, migrate_output=output)
