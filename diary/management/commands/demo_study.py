from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from diary.services.assessments import assessments_refresh_status
from diary.services.demo import DEMO_CODE, demo_study_create


class Command(BaseCommand):
    help = "Create the demo crossover study ENDO-ANK with demo users (development only)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_study refuses to run with DEBUG off: demo users and data must never "
                "reach a production database."
            )
        study = demo_study_create()
        if study is None:
            self.stdout.write(f"Demo study {DEMO_CODE} already exists; nothing changed.")
            return
        assessments_refresh_status()
        self.stdout.write(
            self.style.SUCCESS(
                f"Created demo study {DEMO_CODE}: {study.participants.count()} participants, "
                f"password for every demo login: the DEMO_PASSWORD setting."
            )
        )
