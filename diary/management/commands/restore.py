"""`manage.py restore BACKUP_DIR`: a backup into an empty database (diary/services/restore.py).

The target is the configured database (DATABASE_OWNER_URL's) unless --database-url names
another, always as its owner role. `--verify-only` checks the files against the manifest and
restores nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from diary.services.restore import (
    RestoreFailed,
    RestoreRefused,
    backup_restore,
    backup_verify,
    database_url,
)


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into an empty database, then migrate it "
        "(which grants the application role its privileges)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("backup_dir", type=Path, help="A backup's directory (epro-...).")
        parser.add_argument(
            "--database-url",
            default=None,
            help="The empty target database, as its owner role: postgres://owner:pw@host/name "
            "(default: DATABASE_OWNER_URL).",
        )
        parser.add_argument(
            "--pg-bin-dir",
            type=Path,
            default=None,
            help="Directory of pg_restore (default: PG_BIN_DIR, else found).",
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="Check every file's size and SHA-256 against the manifest; restore nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["backup_dir"].resolve()
        try:
            if options["verify_only"]:
                manifest = backup_verify(path)
                self.stdout.write(
                    f"Backup {path} is intact: made {manifest.get('created_at')}, "
                    f"{len(manifest.get('row_counts') or {})} tables"
                )
                return
            url = options["database_url"] or self._configured_url()
            bin_dir = options["pg_bin_dir"] or (
                Path(settings.PG_BIN_DIR) if settings.PG_BIN_DIR else None
            )
            report = backup_restore(
                path=path, database_url=url, app_role=settings.DATABASE_APP_ROLE, bin_dir=bin_dir
            )
        except (RestoreRefused, RestoreFailed) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Restored {path} into {report.database!r}: {report.tables} tables, {report.rows} "
            "rows, as in the manifest; migrated, and the application role granted its "
            "privileges. Next: `manage.py audit_verify` with the installation's AUDIT_CHAIN_KEY."
        )

    @staticmethod
    def _configured_url() -> str:
        owner = settings.DATABASE_OWNER
        if not owner:
            raise CommandError(
                "DATABASE_OWNER_URL: must be set (or give --database-url): the restore runs as "
                "the owner role"
            )
        return database_url({**owner, "NAME": settings.DATABASES["default"]["NAME"]})
