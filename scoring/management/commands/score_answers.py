"""`manage.py score_answers`: score external data (e.g. paper forms) with the same engine."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.definitions import AnswersInvalid, Instrument, InstrumentNotFound, instrument_get
from scoring.engine import DEFAULT_RULE, MISSING_RULES, scores_compute


def line_score(
    instrument: Instrument, line: str, *, rule: str, modules: tuple[str, ...]
) -> dict[str, Any]:
    """The scores of one JSON line as a JSON-ready object; ValueError with the reason."""
    try:
        answers = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    if not isinstance(answers, dict):
        raise ValueError("expected a JSON object of item variable -> code or null")
    try:
        scores = scores_compute(instrument, answers, rule=rule, modules=modules)
    except AnswersInvalid as exc:
        raise ValueError("; ".join(exc.errors)) from None
    return {
        score.scale: {
            "score": None if score.value is None else float(score.value),
            "items_answered": score.items_answered,
            "items_in_scale": score.items_in_scale,
            "applicable": score.applicable,
        }
        for score in scores
    }


class Command(BaseCommand):
    help = (
        "Score external answers: FILE (or - for standard input) holds JSON lines, one object of "
        "item variable -> code or null per line. Writes one JSON line per input line: each "
        "scale's exact score (float, or null when not scorable), items answered and items in "
        "the scale; null for a blank or bad line. Bad lines are reported on standard error as "
        "'line N: reason', and the exit status is then 1."
    )
    # Tests pass stdin=... to call_command.
    stealth_options = ("stdin",)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        # `--version V` names an instrument version here; Django's own --version gives way.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="JSON lines file, or - for stdin")
        parser.add_argument("--instrument", required=True, metavar="KEY", help="e.g. ehp30")
        parser.add_argument("--version", dest="instrument_version", metavar="V")
        parser.add_argument("--rule", choices=MISSING_RULES, default=DEFAULT_RULE)
        parser.add_argument(
            "--module",
            action="append",
            default=[],
            dest="modules",
            metavar="KEY",
            help="an optional module collected, e.g. ehp30_work (repeat for several)",
        )

    def handle(self, *args, file: str, instrument: str, **options) -> None:
        try:
            definition = instrument_get(instrument, options["instrument_version"])
        except InstrumentNotFound as exc:
            raise CommandError(str(exc)) from None
        known = [module.key for module in definition.modules]
        unknown = [m for m in options["modules"] if m not in known]
        if unknown:
            raise CommandError(f"--module: unknown {unknown} for {instrument}, known: {known}")
        if file == "-":
            bad, total = self._score(definition, options.get("stdin", sys.stdin), options)
        else:
            try:
                with open(file, encoding="utf-8") as lines:
                    bad, total = self._score(definition, lines, options)
            except OSError as exc:
                raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        if bad:
            raise CommandError(f"{bad} of {total} lines could not be scored", returncode=1)

    def _score(
        self, instrument: Instrument, lines: Iterable[str] | TextIO, options: dict[str, Any]
    ) -> tuple[int, int]:
        bad = total = 0
        modules = tuple(options["modules"])
        for number, line in enumerate(lines, start=1):
            total = number
            result: dict[str, Any] | None = None
            if line.strip():
                try:
                    result = line_score(instrument, line, rule=options["rule"], modules=modules)
                except ValueError as exc:
                    bad += 1
                    self.stderr.write(f"line {number}: {exc}")
            # One output line per input line, so results join back to the input by position.
            self.stdout.write(json.dumps(result))
        return bad, total
