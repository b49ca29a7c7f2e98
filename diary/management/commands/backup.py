"""`manage.py backup`: a consistent, verified backup of the database (diary/services/backups.py).

Runs as the owner role (DATABASE_OWNER_URL), which can read every table. Prints the new
backup's directory; a failure is one line, exit 1, and leaves the earlier backups as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from diary.services.backups import DUMP, BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the whole database (pg_dump custom format + manifest with SHA-256)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dir", type=Path, default=None, help="Where backups go (default: BACKUP_DIR)."
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help="Keep only the N newest backups once this one is written (default: "
            "BACKUP_KEEP; 0 keeps all).",
        )
        parser.add_argument(
            "--pg-bin-dir",
            type=Path,
            default=None,
            help="Directory of pg_dump and pg_restore (default: PG_BIN_DIR, else found).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keep = settings.BACKUP_KEEP if options["keep"] is None else options["keep"]
        if keep < 0:
            raise CommandError("--keep: must be 0 (keep every backup) or more")
        bin_dir = options["pg_bin_dir"] or (
            Path(settings.PG_BIN_DIR) if settings.PG_BIN_DIR else None
        )
        try:
            backup = backup_create(
                root=(options["dir"] or settings.BACKUP_DIR).resolve(),
                now=timezone.now(),
                keep=keep,
                bin_dir=bin_dir,
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        dump = backup.manifest["files"][DUMP]
        counts = backup.manifest["row_counts"]
        self.stdout.write(
            f"Backup written: {backup.path} ({len(counts)} tables, {sum(counts.values())} rows; "
            f"{DUMP} {dump['bytes']} bytes, SHA-256 {dump['sha256']})"
        )
        for path in backup.removed:
            self.stdout.write(f"Removed (keeping the {keep} newest): {path}")
