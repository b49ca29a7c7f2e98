"""`manage.py audit_verify [--study CODE]`: recompute the audit chain; exit 1 when it fails."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from diary.services.audit_chain import UnknownStudy, audit_chain_check


class Command(BaseCommand):
    help = (
        "Recompute the keyed audit chain (AUDIT_CHAIN_KEY) and report the first event inserted, "
        "removed, reordered or altered, and every response or score whose content no longer "
        "matches its recorded digest. Exits 1 if anything does not match."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--study",
            default="",
            help="Check only this study's responses and scores (the chain is checked whole).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = audit_chain_check(study_code=options["study"])
        except UnknownStudy as exc:
            raise CommandError(str(exc)) from None
        scope = f" (responses and scores of {report.study_code})" if report.study_code else ""
        checked = (
            f"{report.links} links, {report.responses} responses, {report.scores} scores"
            f"{scope} in {report.seconds:.1f} s"
        )
        if report.passed:
            self.stdout.write(f"audit chain verified: {checked}")
            return
        for problem in report.problems:
            self.stderr.write(f"  {problem}")
        if report.problem_count > len(report.problems):
            self.stderr.write(f"  ... and {report.problem_count - len(report.problems)} more")
        raise CommandError(
            f"audit chain BROKEN: {report.problem_count} problem(s) in {checked}; "
            f"first: {report.problems[0]}",
            returncode=1,
        )
