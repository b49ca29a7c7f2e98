"""`manage.py grant_first_holder`: a study's first holder of an unblinded role or of emergency
unblinding, named by two people.

The admin's two-person grant needs an approver who already holds the right in the study; the
first one cannot have one. This command records the first holder with both people who decided
it (neither of them the grantee), audited with the reason and e-mailed to the study's
unblinded staff. It refuses once the study has a holder: from then on the admin's Access
grants apply.

    manage.py grant_first_holder --study ENDO-ANK --grantee statistician \\
        --role statistician --proposed-by sysadmin --approved-by sponsor \\
        --reason "Trial statistician named in the protocol, section 9"
    manage.py grant_first_holder --study ENDO-ANK --grantee pi --emergency [--site S01] ...
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from diary.models import GrantRight, Site, Study
from diary.services.grants import grant_first_holder


class Command(BaseCommand):
    help = "Name a study's first holder of an unblinded role or of emergency unblinding."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True, help="Study code, e.g. ENDO-ANK")
        parser.add_argument("--grantee", required=True, help="Username of the new holder.")
        right = parser.add_mutually_exclusive_group(required=True)
        right.add_argument("--role", help="The unblinded role, e.g. statistician.")
        right.add_argument("--emergency", action="store_true", help="Emergency unblinding.")
        parser.add_argument("--site", help="Site code; every site of the study when left out.")
        parser.add_argument("--proposed-by", required=True, help="Username of the first person.")
        parser.add_argument("--approved-by", required=True, help="Username of the second person.")
        parser.add_argument("--reason", required=True, help="Why: recorded in the audit trail.")

    def handle(self, *args, **options) -> None:
        try:
            study = Study.objects.get(code=options["study"])
        except Study.DoesNotExist as exc:
            raise CommandError(f"No study with code {options['study']!r}.") from exc
        site = None
        if options["site"]:
            site = Site.objects.filter(study=study, code=options["site"]).first()
            if site is None:
                raise CommandError(f"Study {study.code} has no site {options['site']!r}.")
        people = {
            name: self._user(options[name]) for name in ("grantee", "proposed_by", "approved_by")
        }
        try:
            grant = grant_first_holder(
                study=study,
                site=site,
                grantee=people["grantee"],
                right=GrantRight.EMERGENCY_UNBLIND
                if options["emergency"]
                else GrantRight.UNBLINDED_ROLE,
                role=options["role"] or "",
                reason=options["reason"],
                proposed_by=people["proposed_by"],
                approved_by=people["approved_by"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Granted: {grant} (request {grant.pk}).")

    def _user(self, username: str):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {username!r}.") from exc
