"""`manage.py rescore`: score what is unscored or scored by an older algorithm, or everything."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from diary.models import Study
from scoring.definitions import instruments_available
from scoring.engine import ALGORITHM_VERSION
from scoring.services import responses_rescore


class Command(BaseCommand):
    help = (
        "Score every response that has no score under the current algorithm version and its "
        "study's missing-item rule (never scored, or scored by an older algorithm). With --all, "
        "recompute every response. Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", metavar="CODE", help="only this study's responses")
        parser.add_argument("--instrument", metavar="KEY", help="only this instrument, e.g. ehp30")
        parser.add_argument(
            "--all", action="store_true", dest="everything", help="recompute every response"
        )
        parser.add_argument("--user", metavar="USERNAME", help="who runs it, for the audit trail")

    def handle(self, *args, study: str | None, instrument: str | None, **options) -> None:
        chosen = None
        if study is not None:
            chosen = Study.objects.filter(code=study).first()
            if chosen is None:
                raise CommandError(f"--study: no study with code {study!r}")
        keys = sorted({i.key for i in instruments_available()})
        if instrument is not None and instrument not in keys:
            raise CommandError(f"--instrument: unknown {instrument!r}, expected one of {keys}")
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"--user: no user {options['user']!r}")
        tally = responses_rescore(
            actor=actor, study=chosen, instrument_key=instrument, everything=options["everything"]
        )
        self.stdout.write(
            f"Scored {tally.responses} responses ({tally.scores} scale scores) under algorithm "
            f"version {ALGORITHM_VERSION}."
        )
        if tally.failed:
            raise CommandError(
                f"{len(tally.failed)} responses could not be scored (see the log): "
                + ", ".join(map(str, tally.failed))
            )
