"""`manage.py arm_summary --study CODE --format json`: the per-arm summary page's numbers."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from diary import access
from diary.models import AuditAction, Study
from diary.services.audit import audit_record
from scoring.summaries import arm_summary


class Command(BaseCommand):
    help = "Print the unblinded per-treatment summary of a study (for reports). Audited."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--study", required=True)
        parser.add_argument("--format", choices=["json"], default="json")
        parser.add_argument("--user", required=True, help="Your username; must be unblinded.")

    def handle(self, *args, **options) -> None:
        try:
            study = Study.objects.get(code=options["study"])
        except Study.DoesNotExist as exc:
            raise CommandError(f"No study with code {options['study']!r}.") from exc
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None or not access.is_unblinded(user, study):
            raise CommandError("The per-arm summary is only for unblinded study staff.")
        summary = arm_summary(study=study)
        with transaction.atomic():
            audit_record(
                action=AuditAction.SUMMARY_VIEWED,
                actor=user,
                study=study,
                details={"via": "arm_summary command"},
            )
        self.stdout.write(json.dumps(summary.as_dict(), indent=2, sort_keys=True))
