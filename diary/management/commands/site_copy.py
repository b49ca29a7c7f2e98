"""`manage.py site_copy`: the site's own copy (casebooks, blinded CSV files, manifest) written
to a folder, the same files as the admin page's copy."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from diary.models import Site, Study
from diary.services.site_copy import site_copy_to_folder


class Command(BaseCommand):
    help = "Write a site's own copy: a PDF casebook per participant, CSV files, manifest.json."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="Study code, e.g. ENDO-ANK")
        parser.add_argument("--site", required=True, help="Site code, e.g. S01")
        parser.add_argument(
            "--user", required=True, help="Your username: the copy is permission-checked."
        )
        parser.add_argument("--out", required=True, type=Path, help="Folder to write into.")

    def handle(self, *args, **options) -> None:
        try:
            study = Study.objects.get(code=options["study"])
        except Study.DoesNotExist as exc:
            raise CommandError(f"No study with code {options['study']!r}.") from exc
        try:
            site = Site.objects.select_related("study").get(study=study, code=options["site"])
        except Site.DoesNotExist as exc:
            raise CommandError(f"Study {study.code} has no site {options['site']!r}.") from exc
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {options['user']!r}.") from exc
        out: Path = options["out"]
        if out.exists() and not out.is_dir():
            raise CommandError(f"{out} is a file: give a folder.")
        try:
            manifest = site_copy_to_folder(site=site, actor=user, out_dir=out)
        except (PermissionDenied, ValidationError) as exc:
            raise CommandError(
                str(exc) if isinstance(exc, PermissionDenied) else exc.messages[0]
            ) from exc
        self.stdout.write(
            f"Wrote {len(manifest['files'])} files and manifest.json for {study.code} "
            f"{site.code} ({manifest['participants']} participants) to {out}."
        )
