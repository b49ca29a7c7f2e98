"""Backups: one consistent pg_dump of the whole database, with a manifest, written atomically.

A backup is a directory `<BACKUP_DIR>/epro-<UTC time>/` holding

- `database.dump`: pg_dump's custom format of the whole database (every study, the audit trail,
  row history, scores, accounts), taken as the owner role, which can read every table;
- `manifest.json`: the dump's size and SHA-256, the server's, pg_dump's and the application's
  versions, the applied migrations' heads, the row count of every table, the latest audit
  event, the audit chain's verification state and the time it was made.

The manifest's facts are read in the very snapshot pg_dump dumps (a repeatable-read transaction
that exports its snapshot to pg_dump), so they describe the dump exactly while the application
keeps writing. Everything is written into a hidden directory beside the backups, flushed to
disk, read back by pg_restore, and only then renamed into place: a backup that fails (no
pg_dump, a lost connection, a full disk) leaves no directory behind, and the earlier backups
are never touched; only a complete new one lets retention remove the oldest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connections, transaction

from config.database_roles import OwnerNotConfigured, connected_as_owner
from diary.selectors.backup import backup_chain_state, backup_facts
from diary.services.postgres_tools import (
    ToolError,
    connection_env,
    server_major,
    tool_find,
    tool_run,
)

MANIFEST = "manifest.json"
DUMP = "database.dump"
FORMAT = "epro-diary-backup/1"
_NAME = re.compile(r"^epro-(\d{8}T\d{6}Z)(?:-(\d+))?$")
_PARTIAL_PREFIX = ".partial-"
_LOCK = ".backup.lock"
_TABLE_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")


class BackupError(Exception):
    """The backup failed; nothing was written and earlier backups are as they were. One
    line."""


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]
    removed: tuple[Path, ...] = ()  # older backups retention removed


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's content to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def backups_list(root: Path) -> list[Path]:
    """The complete backups in `root` (a directory with a manifest, named as backup_create
    names them), oldest first."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = _NAME.match(path.name)
        if match and path.is_dir() and (path / MANIFEST).is_file():
            found.append(((match.group(1), int(match.group(2) or 0)), path))
    return [path for _, path in sorted(found)]


def backups_prune(root: Path, *, keep: int) -> list[Path]:
    """Remove all but the `keep` newest complete backups (keep 0: remove none); the removed."""
    if keep <= 0:
        return []
    removed = backups_list(root)[:-keep]
    for path in removed:
        shutil.rmtree(path)
    return removed


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One backup at a time per directory; raises BackupError when another one runs."""
    with (root / _LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"another backup is running in {root}; try again later") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _name_free(root: Path, now: datetime) -> Path:
    base = f"epro-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    path, number = root / base, 1
    while path.exists():
        number += 1
        path = root / f"{base}-{number}"
    return path


def _app_version() -> str:
    try:
        return importlib.metadata.version("epro-diary")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _dump(target: Path, *, bin_dir: Path | None) -> dict[str, Any]:
    """pg_dump the default database as the owner into `target`; the manifest's facts, read in
    the dumped snapshot."""
    connection = connections["default"]
    if connection.in_atomic_block:
        raise BackupError("backup: must run outside a transaction (it opens its own snapshot)")
    with connected_as_owner(), transaction.atomic():
        with connection.cursor() as cursor:
            # Must be the transaction's first statement: PostgreSQL refuses it otherwise.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        facts = backup_facts()
        chain = backup_chain_state()
        pg_dump = tool_find(
            "pg_dump", minimum_major=server_major(facts["server_version_num"]), bin_dir=bin_dir
        )
        # The transaction stays open until pg_dump is done, so the snapshot stays valid.
        tool_run(
            pg_dump,
            ["--format=custom", f"--snapshot={snapshot}", "--no-password", f"--file={target}"],
            env=connection_env(connection.settings_dict),
        )
        database = connection.settings_dict["NAME"]
    return {"database": database, "facts": facts, "audit_chain": chain, "pg_dump": pg_dump}


def _archive_check(
    dump: Path, tables: set[str], *, pg_dump_major: int, bin_dir: Path | None
) -> None:
    """Read the archive back with pg_restore --list: it must hold the data of every table
    counted in the snapshot."""
    pg_restore = tool_find("pg_restore", minimum_major=pg_dump_major, bin_dir=bin_dir)
    listing = tool_run(pg_restore, ["--list", str(dump)], env=os.environ)
    listed = {m.group(2) for line in listing.splitlines() if (m := _TABLE_DATA.match(line))}
    missing = sorted(tables - listed)
    if missing:
        raise BackupError(
            f"backup: the archive pg_dump wrote lacks the data of {len(missing)} tables "
            f"({', '.join(missing[:5])}); nothing was kept"
        )


def backup_create(
    *, root: Path, now: datetime, keep: int = 0, bin_dir: Path | None = None
) -> Backup:
    """Write a complete backup of the default database into a new directory of `root`, then
    remove all but the `keep` newest backups (0: keep all).

    Raises BackupError (one line) when anything fails: pg_dump missing or older than the
    server, DATABASE_OWNER_URL not set, the dump unreadable, the disk full. Then nothing new
    is left in `root` and no earlier backup was changed or removed.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"BACKUP_DIR: cannot create {root}: {exc.strerror}") from None
    with _locked(root):
        # We hold the lock: a partial directory left here is from a backup that was killed.
        for stale in root.glob(f"{_PARTIAL_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        final = _name_free(root, now)
        partial = root / f"{_PARTIAL_PREFIX}{final.name}"
        try:
            # Every account's password hash and every answer: readable by this user only.
            partial.mkdir(mode=0o700)
            manifest = _write(partial, now=now, bin_dir=bin_dir)
            partial.rename(final)
            _fsync(root)
        except BaseException as exc:
            shutil.rmtree(partial, ignore_errors=True)
            if isinstance(exc, BackupError):
                raise
            if isinstance(exc, ToolError | OwnerNotConfigured):
                raise BackupError(f"backup failed, nothing written: {exc}") from None
            if isinstance(exc, DatabaseError | OSError):
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise BackupError(f"backup failed, nothing written: {first}") from None
            raise
        removed = backups_prune(root, keep=keep)
    return Backup(path=final, manifest=manifest, removed=tuple(removed))


def _write(directory: Path, *, now: datetime, bin_dir: Path | None) -> dict[str, Any]:
    dump = directory / DUMP
    taken = _dump(dump, bin_dir=bin_dir)
    dump.chmod(0o600)
    _fsync(dump)
    facts, pg_dump = taken["facts"], taken["pg_dump"]
    _archive_check(dump, set(facts["row_counts"]), pg_dump_major=pg_dump.major, bin_dir=bin_dir)
    manifest = {
        "format": FORMAT,
        "created_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "application": {"name": "epro-diary", "version": _app_version()},
        "database": {
            "name": taken["database"],
            "server_version_num": facts["server_version_num"],
            "server_version": facts["server_version"],
        },
        "pg_dump": {"version": pg_dump.version, "major": pg_dump.major},
        "files": {DUMP: {"bytes": dump.stat().st_size, "sha256": file_sha256(dump)}},
        "migration_heads": facts["migration_heads"],
        "row_counts": facts["row_counts"],
        "latest_audit_event": facts["latest_audit_event"],
        "audit_chain": taken["audit_chain"],
    }
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    path.chmod(0o600)
    _fsync(path)
    _fsync(directory)
    return manifest
