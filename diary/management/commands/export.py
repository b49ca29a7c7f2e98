"""`manage.py export`: the same exports as the admin page, written to a file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from diary.exports.columns import EXPORT_KINDS
from diary.models import AssessmentStatus, Study
from diary.services.export_formats import REQUEST_FORMATS
from diary.services.exports import ExportRequest, export_start


class Command(BaseCommand):
    help = (
        "Export study data as one file (one kind: CSV, another statistical format, the ODM "
        "1.3.2 archive or define.xml) or a zip with a manifest (several kinds, or sdtm: one "
        "file per dataset)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="Study code, e.g. ENDO-ANK")
        parser.add_argument(
            "--kind",
            action="append",
            choices=EXPORT_KINDS,
            required=True,
            help="Repeat for a bundle.",
        )
        parser.add_argument(
            "--format",
            choices=REQUEST_FORMATS,
            default="csv",
            help="sdtm: csv, json (Dataset-JSON v1.1) or xpt (SAS XPORT v5); long, wide, "
            "treatment_means, analysis: csv, xpt, sav (SPSS) or dta (Stata). Other kinds stay "
            "in their own format (define: XML).",
        )
        blinding = parser.add_mutually_exclusive_group()
        blinding.add_argument("--blinded", dest="blinded", action="store_true", default=True)
        blinding.add_argument("--unblinded", dest="blinded", action="store_false")
        parser.add_argument("--site", action="append", default=[], help="Site code; repeatable.")
        parser.add_argument("--period", action="append", type=int, default=[])
        parser.add_argument(
            "--status", action="append", default=[], choices=AssessmentStatus.values
        )
        parser.add_argument(
            "--user", required=True, help="Your username: exports are permission-checked."
        )
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args, **options) -> None:
        try:
            study = Study.objects.get(code=options["study"])
        except Study.DoesNotExist as exc:
            raise CommandError(f"No study with code {options['study']!r}.") from exc
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {options['user']!r}.") from exc
        request = ExportRequest(
            study=study,
            kinds=tuple(dict.fromkeys(options["kind"])),
            blinded=options["blinded"],
            site_codes=tuple(options["site"]),
            periods=tuple(options["period"]),
            statuses=tuple(options["status"]),
            format=options["format"],
        )
        try:
            export = export_start(user=user, request=request)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        out: Path = options["out"]
        if out.is_dir():
            out = out / export.filename
        with out.open("wb") as handle:
            for chunk in export.chunks:
                handle.write(chunk)
        for export_file in export.files:
            self.stdout.write(
                f"{export_file.name}: {export_file.rows} rows, sha256 {export_file.sha256}"
            )
        self.stdout.write(self.style.SUCCESS(f"Written {out}"))
