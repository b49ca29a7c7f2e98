"""`manage.py backup` and `manage.py restore`: what they print, and one line when they refuse."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from diary.services.backups import DUMP, backups_list
from tests.diary.backing_up import empty_database, table_digests

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_backup_prints_where_it_wrote_and_restore_brings_it_back(world, tmp_path) -> None:
    printed = run("backup", dir=tmp_path)

    (backup,) = backups_list(tmp_path)
    assert printed.startswith(f"Backup written: {backup} (")
    assert f"{DUMP} {(backup / DUMP).stat().st_size} bytes, SHA-256 " in printed
    assert run("restore", str(backup), verify_only=True).startswith(f"Backup {backup} is intact")
    with empty_database() as (name, url):
        printed = run("restore", str(backup), database_url=url)
        assert printed.startswith(f"Restored {backup} into '{name}': ")
        assert "audit_verify" in printed
        assert table_digests(name)["diary_participant"][0] == 2


def test_backup_with_settings_keep_removes_the_oldest(world, tmp_path, settings) -> None:
    settings.BACKUP_DIR = tmp_path
    settings.BACKUP_KEEP = 1
    run("backup")
    first = backups_list(tmp_path)

    printed = run("backup")

    (kept,) = backups_list(tmp_path)
    assert kept not in first
    assert f"Removed (keeping the 1 newest): {first[0]}" in printed


def test_backup_without_a_fitting_pg_dump_fails_in_one_line(world, tmp_path) -> None:
    with pytest.raises(CommandError) as failed:
        run("backup", dir=tmp_path / "b", pg_bin_dir=tmp_path / "nowhere")
    assert "\n" not in str(failed.value)
    assert "pg_dump: none of version" in str(failed.value)
    assert backups_list(tmp_path / "b") == []


def test_backup_needs_the_owner_role(world, tmp_path, settings) -> None:
    settings.DATABASE_OWNER = None
    with pytest.raises(CommandError, match="DATABASE_OWNER_URL: must be set"):
        run("backup", dir=tmp_path)
    assert backups_list(tmp_path) == []


def test_negative_keep_is_refused(tmp_path) -> None:
    with pytest.raises(CommandError, match="--keep: must be 0"):
        run("backup", dir=tmp_path, keep=-1)


def test_restore_of_an_altered_backup_is_refused_in_one_line(world, tmp_path) -> None:
    run("backup", dir=tmp_path)
    (backup,) = backups_list(tmp_path)
    with (backup / DUMP).open("ab") as dump:
        dump.write(b"\0")

    with pytest.raises(CommandError) as refused:
        run("restore", str(backup), verify_only=True)
    assert "\n" not in str(refused.value)
    assert "bytes, the manifest says" in str(refused.value)


def test_restore_needs_the_owner_role_or_a_target(world, tmp_path, settings) -> None:
    run("backup", dir=tmp_path)
    (backup,) = backups_list(tmp_path)
    settings.DATABASE_OWNER = None
    with pytest.raises(CommandError, match="DATABASE_OWNER_URL: must be set \\(or give"):
        run("restore", str(backup))
