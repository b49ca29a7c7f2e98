"""`manage.py load_instrument_text`: store a deployment's licensed wording or a translation."""

from __future__ import annotations

import tomllib
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.definitions import (
    DefinitionError,
    InstrumentNotFound,
    instrument_get,
    instrument_with_wording,
)
from scoring.services import instrument_version_store


def refused(path: Path, problems: list[str]) -> CommandError:
    numbered = "\n".join(f"  {n}. {problem}" for n, problem in enumerate(problems, start=1))
    return CommandError(f"{path.name} was refused; nothing was stored:\n{numbered}")


class Command(BaseCommand):
    help = (
        "Load licensed wording or an official translation (TOML, format in scoring/wording.py), "
        "check that it matches the instrument's structure item for item, and store it as a new, "
        "frozen instrument version. A file that does not fit is refused with a numbered list of "
        "problems and nothing is stored. Audited."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        # `--version V` names an instrument version here; Django's own --version gives way.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE")
        parser.add_argument(
            "--version",
            dest="instrument_version",
            required=True,
            metavar="V",
            help="the new version's name, e.g. 1.0-oui-en-GB",
        )
        parser.add_argument(
            "--language", metavar="L", help="e.g. en-GB; default: the file's `language`"
        )
        parser.add_argument(
            "--structure", metavar="V", help="structure version it fits (default: the latest)"
        )
        parser.add_argument("--user", metavar="USERNAME", help="who loads it, for the audit trail")

    def handle(self, *args, file: str, instrument_version: str, **options) -> None:
        path = Path(file)
        try:
            wording = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise refused(path, [f"not valid TOML: {exc}"]) from None
        key = wording.get("instrument")
        if not isinstance(key, str):
            raise refused(path, ["wording: missing field 'instrument' (the instrument key)"])
        try:
            structure = instrument_get(key, options["structure"])
        except InstrumentNotFound as exc:
            raise refused(path, [f"instrument: {exc}"]) from None
        language = options["language"] or wording.get("language")
        if not isinstance(language, str):
            raise refused(path, ["language: give --language or a `language` in the file"])
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"--user: no user {options['user']!r}")
        try:
            instrument = instrument_with_wording(
                structure, wording, version=instrument_version, language=language
            )
            stored = instrument_version_store(
                instrument=instrument,
                structure=structure,
                wording=wording,
                source_name=path.name,
                actor=actor,
            )
        except DefinitionError as exc:
            raise refused(path, exc.errors) from None
        except ValueError as exc:
            raise refused(path, [str(exc)]) from None
        self.stdout.write(
            f"Stored {stored.key} version {stored.version} ({stored.language}) on structure "
            f"{stored.structure_version}, content hash {stored.content_hash}."
        )
