"""`manage.py import_study_data`: load periods and answers from an ODM 1.3.2 or wide CSV file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from diary.models import Study
from diary.services.imports import study_data_import


class Command(BaseCommand):
    help = (
        "Import periods and questionnaire answers of enrolled, randomised participants from a "
        "CDISC ODM 1.3.2 file or the project's wide CSV. The whole file is checked first; "
        "nothing is stored unless all of it is valid; the same file twice changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="Study code, e.g. ENDO-ANK")
        parser.add_argument(
            "--user", required=True, help="Your username: the import is yours, permission-checked."
        )
        parser.add_argument(
            "--check", action="store_true", help="Check and preview only; store nothing."
        )
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options) -> None:
        try:
            study = Study.objects.get(code=options["study"])
        except Study.DoesNotExist as exc:
            raise CommandError(f"No study with code {options['study']!r}.") from exc
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {options['user']!r}.") from exc
        path: Path = options["file"]
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        try:
            report = study_data_import(
                study=study,
                actor=user,
                file_name=path.name,
                content=content,
                confirm=not options["check"],
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        if report.already is not None:
            batch = report.already
            self.stdout.write(
                f"{path.name} (sha256 {report.file_sha256}) was imported on "
                f"{batch.imported_at:%Y-%m-%d %H:%M} UTC by {batch.imported_by}: nothing changed."
            )
            return
        if report.errors:
            for error in report.errors:
                self.stderr.write(f"{path.name}: {error}")
            raise CommandError(
                f"{len(report.errors)} problem(s) in {path.name}: nothing was imported."
            )
        for line in report.preview:
            self.stdout.write(line)
        verb = "Would import" if options["check"] or report.batch is None else "Imported"
        if not report.preview:
            self.stdout.write(f"{path.name}: everything in it is already stored; nothing changed.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {path.name} (sha256 {report.file_sha256}): {report.periods} periods, "
                f"{report.responses} questionnaire responses."
            )
        )
        if report.corrected:
            self.stdout.write(
                f"{report.corrected} data points were corrected in the file: each is imported "
                "with its final value (source import), its original value and corrections kept "
                "with it as data, not as site corrections."
            )
