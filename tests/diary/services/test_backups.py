"""backup_create: one consistent, verified dump with its manifest, written atomically; a
failed backup leaves nothing new and every earlier backup as it was (diary/services/backups.py).
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

from diary.models import AuditChainLink, AuditEvent, Response
from diary.selectors import backup as backup_selectors
from diary.services import backups as backups_module
from diary.services.backups import (
    DUMP,
    MANIFEST,
    BackupError,
    backup_create,
    backups_list,
    file_sha256,
)
from diary.services.postgres_tools import tool_find
from diary.services.restore import backup_restore, backup_verify
from tests.diary.backing_up import app_on, django_on, empty_database, table_digests
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


def fake_tools(directory: Path, pg_dump_body: str) -> Path:
    """A PG_BIN_DIR whose pg_dump reports the real version and then runs `pg_dump_body` (sh,
    with "$file" the path it was asked to write), beside the real pg_restore."""
    server = connection.pg_version // 10000
    real_dump = tool_find("pg_dump", minimum_major=server)
    real_restore = tool_find("pg_restore", minimum_major=server)
    directory.mkdir()
    script = directory / "pg_dump"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then exec {real_dump.path} --version; fi\n'
        'for arg in "$@"; do case "$arg" in --file=*) file="${arg#--file=}";; esac; done\n'
        f"{pg_dump_body}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (directory / "pg_restore").symlink_to(real_restore.path)
    return directory


def snapshot_of(root: Path) -> dict[str, str]:
    """Every file under root (hidden ones too) and its SHA-256."""
    return {
        str(path.relative_to(root)): file_sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != ".backup.lock"
    }


def test_backup_writes_a_dump_and_a_manifest_that_describes_it(world, tmp_path) -> None:
    submit(world.participant_a)
    backup = backup_create(root=tmp_path, now=NOW)

    assert backup.path == tmp_path / "epro-20260301T023000Z"
    assert sorted(p.name for p in backup.path.iterdir()) == [DUMP, MANIFEST]
    manifest = json.loads((backup.path / MANIFEST).read_text())
    assert manifest == backup.manifest
    dump = backup.path / DUMP
    assert manifest["files"] == {DUMP: {"bytes": dump.stat().st_size, "sha256": file_sha256(dump)}}
    assert manifest["created_at"] == "2026-03-01T02:30:00Z"
    assert manifest["row_counts"]["diary_auditevent"] == AuditEvent.objects.count()
    assert manifest["row_counts"]["diary_response"] == Response.objects.count() == 2
    latest = AuditEvent.objects.order_by("-id").first()
    assert manifest["latest_audit_event"] == {
        "id": latest.pk,
        "occurred_at": latest.occurred_at.isoformat(),
    }
    leaves = dict(MigrationLoader(connection).graph.leaf_nodes())
    assert manifest["migration_heads"]["diary"] == leaves["diary"]
    assert manifest["database"]["server_version_num"] == connection.pg_version
    assert manifest["pg_dump"]["major"] >= manifest["database"]["server_version_num"] // 10000
    links = AuditChainLink.objects.order_by("-seq")
    assert manifest["audit_chain"]["links"] == links.count()
    assert manifest["audit_chain"]["head_hash"] == links.first().hash
    assert manifest["application"]["name"] == "epro-diary"
    # Readable by this user only: it holds every password hash and every answer.
    assert stat.S_IMODE(backup.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert backup_verify(backup.path) == manifest


def test_the_manifest_describes_the_dumped_snapshot_not_later_writes(
    world, tmp_path, monkeypatch
) -> None:
    """A submission committed after the snapshot was taken, while the backup runs, is in
    neither the dump nor the manifest's counts."""
    before = AuditEvent.objects.count()
    facts_read = backup_selectors.backup_chain_state

    def chain_state_while_someone_writes(**kwargs):
        with app_on(settings.DATABASES["default"]["NAME"]) as conn:
            conn.execute(
                "INSERT INTO diary_auditevent (occurred_at, actor_label, action, object_type, "
                "object_id, reason, details, request_id, unblinded) "
                "VALUES (now(), '', 'login', '', '', '', '{}', '', false)"
            )
        return facts_read(**kwargs)

    monkeypatch.setattr(backups_module, "backup_chain_state", chain_state_while_someone_writes)
    backup = backup_create(root=tmp_path, now=NOW)

    assert AuditEvent.objects.count() == before + 1  # it was committed
    assert backup.manifest["row_counts"]["diary_auditevent"] == before
    with empty_database() as (name, url):
        backup_restore(path=backup.path, database_url=url, app_role=settings.DATABASE_APP_ROLE)
        assert table_digests(name)["diary_auditevent"][0] == before


def test_no_pg_dump_that_fits_fails_in_one_line_and_keeps_the_previous_backup(
    world, tmp_path
) -> None:
    first = backup_create(root=tmp_path, now=NOW)
    before = snapshot_of(tmp_path)

    with pytest.raises(BackupError) as refused:
        backup_create(root=tmp_path, now=NOW + timedelta(days=1), bin_dir=tmp_path / "nowhere")

    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(
        f"backup failed, nothing written: pg_dump: none of version {connection.pg_version // 10000}"
    )
    assert f"PG_BIN_DIR {tmp_path / 'nowhere'}" in message
    assert snapshot_of(tmp_path) == before
    assert backups_list(tmp_path) == [first.path]
    assert backup_verify(first.path) == first.manifest


def test_a_pg_dump_that_dies_halfway_leaves_nothing_behind(world, tmp_path) -> None:
    first = backup_create(root=tmp_path, now=NOW)
    before = snapshot_of(tmp_path)
    tools = fake_tools(
        tmp_path / "bin",
        'printf "PGDMP half an archive" > "$file"\n'
        'echo "pg_dump: error: connection to server lost" >&2; exit 1',
    )
    before["bin/pg_dump"] = file_sha256(tools / "pg_dump")

    with pytest.raises(BackupError, match="pg_dump failed \\(exit 1\\): pg_dump: error: connec"):
        backup_create(root=tmp_path, now=NOW + timedelta(days=1), keep=1, bin_dir=tools)

    # keep=1 would have removed the first backup had the new one been written.
    assert {k: v for k, v in snapshot_of(tmp_path).items() if k != "bin/pg_restore"} == before
    assert backups_list(tmp_path) == [first.path]
    assert not list(tmp_path.glob(".partial-*"))


def test_an_archive_pg_restore_cannot_read_is_not_kept(world, tmp_path) -> None:
    tools = fake_tools(tmp_path / "bin", 'printf "not an archive" > "$file"; exit 0')

    with pytest.raises(BackupError, match="pg_restore failed"):
        backup_create(root=tmp_path, now=NOW, bin_dir=tools)

    assert backups_list(tmp_path) == []
    assert not list(tmp_path.glob(".partial-*"))
    assert not list(tmp_path.glob("epro-*"))


def test_a_partial_directory_of_a_killed_backup_is_cleared_by_the_next(world, tmp_path) -> None:
    stale = tmp_path / ".partial-epro-20260228T000000Z"
    stale.mkdir(parents=True)
    (stale / DUMP).write_bytes(b"PGDMP cut short")

    backup = backup_create(root=tmp_path, now=NOW)

    assert not stale.exists()
    assert backups_list(tmp_path) == [backup.path]


def test_retention_keeps_the_newest_and_only_after_a_new_backup_is_complete(
    world, tmp_path
) -> None:
    made = [backup_create(root=tmp_path, now=NOW + timedelta(hours=h)).path for h in range(3)]
    unrelated = tmp_path / "notes"
    unrelated.mkdir()

    newest = backup_create(root=tmp_path, now=NOW + timedelta(hours=3), keep=2)

    assert newest.removed == (made[0], made[1])
    assert backups_list(tmp_path) == [made[2], newest.path]
    assert unrelated.exists()


def test_two_backups_in_one_second_get_two_directories(world, tmp_path) -> None:
    first = backup_create(root=tmp_path, now=NOW)
    second = backup_create(root=tmp_path, now=NOW)

    assert second.path.name == f"{first.path.name}-2"
    assert backups_list(tmp_path) == [first.path, second.path]


def test_a_backup_inside_a_transaction_is_refused(tmp_path) -> None:
    with transaction.atomic(), pytest.raises(BackupError, match="outside a transaction"):
        backup_create(root=tmp_path, now=NOW)
    assert backups_list(tmp_path) == []


def test_a_database_not_yet_migrated_is_backed_up_as_empty(tmp_path) -> None:
    with empty_database() as (name, _), django_on(name):
        backup = backup_create(root=tmp_path, now=NOW)

    assert backup.manifest["database"]["name"] == name
    assert backup.manifest["row_counts"] == {}
    assert backup.manifest["migration_heads"] == {}
    assert backup.manifest["latest_audit_event"] is None
    assert backup_verify(backup.path) == backup.manifest
