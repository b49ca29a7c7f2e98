"""Instrument definitions: loading the versioned files and validating answers against them.

Pure: no Django import, no clock. Import everything from here; the implementation is split by
responsibility:

- scoring/definition_schema.py: the dataclasses (Code, Item, Scale, Module, Page, Instrument);
- scoring/definition_parse.py: the definition TOML format (documented there) and its validating
  parser;
- scoring/wording.py: the licensed-wording file format (documented there), wording_check and
  instrument_with_wording;
- this module: files in scoring/instruments/ (`<key>-<version>.toml`, a released version is
  frozen), the cached registry, and answers_validate.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from scoring.definition_parse import instrument_from_data, instrument_parse
from scoring.definition_schema import (
    Code,
    DefinitionError,
    Instrument,
    Item,
    Module,
    Page,
    Scale,
)
from scoring.wording import instrument_with_wording, wording_check

__all__ = [
    "INSTRUMENTS_DIR",
    "AnswersInvalid",
    "Code",
    "DefinitionError",
    "Instrument",
    "InstrumentNotFound",
    "Item",
    "Module",
    "Page",
    "Scale",
    "answers_validate",
    "instrument_get",
    "instrument_load",
    "instrument_parse",
    "instrument_with_wording",
    "instruments_available",
    "translation_get",
    "translation_of",
    "wording_check",
]

INSTRUMENTS_DIR = Path(__file__).resolve().parent / "instruments"
# An instrument version's SDTM mapping, beside its definition (scoring/sdtm_mapping.py).
MAPPING_SUFFIX = ".sdtm.toml"
# Translations the project wrote of its own wording (never licensed text), in the wording file
# format: `<key>-<structure version>.<language>.toml`.
TRANSLATIONS_DIR = INSTRUMENTS_DIR / "translations"


class InstrumentNotFound(LookupError):
    """No shipped definition has this key (and version)."""


class AnswersInvalid(ValueError):
    """Answers that must be refused at input; `errors` has one message per bad variable, each
    starting with the variable name."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


def instrument_load(path: str | os.PathLike[str]) -> Instrument:
    """Load and validate one definition file whose name must be `<key>-<version>.toml`.

    Raises DefinitionError listing every problem (each prefixed with the file name), OSError when
    the file cannot be read.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError([f"{path.name}: invalid TOML: {exc}"]) from exc
    errors = []
    expected = f"{data.get('key')}-{data.get('version')}.toml"
    if path.name != expected:
        errors.append(f"{path.name}: file name must be key-version.toml, here {expected}")
    try:
        instrument = instrument_from_data(data)
    except DefinitionError as exc:
        errors += [f"{path.name}: {error}" for error in exc.errors]
    if errors:
        raise DefinitionError(errors)
    return instrument


def _version_sort_key(version: str) -> tuple[int, ...]:
    # Shipped versions are dotted integers (the parser enforces it): 1.10 comes after 1.9.
    return tuple(int(part) for part in version.split("."))


def definition_files() -> list[Path]:
    """The shipped definition files, `<key>-<version>.toml`; the SDTM mappings beside them
    (`<key>-<version>.sdtm.toml`) are scoring/sdtm_mapping.py's."""
    return [
        path
        for path in sorted(INSTRUMENTS_DIR.glob("*.toml"))
        if not path.name.endswith(MAPPING_SUFFIX)
    ]


@cache
def _registry() -> dict[tuple[str, str], Instrument]:
    """Every shipped definition, loaded once per process; a broken file fails loudly."""
    files = definition_files()
    return {
        (instrument.key, instrument.version): instrument
        for instrument in map(instrument_load, files)
    }


def instruments_available() -> list[Instrument]:
    """Every shipped instrument version, by key then version."""
    return sorted(
        _registry().values(), key=lambda i: (i.key, _version_sort_key(i.version))
    )


def instrument_get(key: str, version: str | None = None) -> Instrument:
    """The shipped definition `key` at `version`, or its latest version when None.

    Raises InstrumentNotFound. Licensed-wording versions live in the database, not here.
    """
    if version is not None:
        try:
            return _registry()[key, version]
        except KeyError:
            raise InstrumentNotFound(f"no instrument {key} version {version}") from None
    versions = [i for i in instruments_available() if i.key == key]
    if not versions:
        raise InstrumentNotFound(f"no instrument {key}")
    return versions[-1]


@cache
def _translations() -> dict[tuple[str, str], tuple[str, Instrument]]:
    """(key, version) -> (structure version, Instrument) of every shipped translation, applied
    to its structure as version `<structure version>-<language>`; a broken file fails loudly."""
    found: dict[tuple[str, str], tuple[str, Instrument]] = {}
    for path in sorted(TRANSLATIONS_DIR.glob("*.toml")):
        base, _, language = path.name.removesuffix(".toml").rpartition(".")
        key, _, version = base.rpartition("-")
        try:
            structure = instrument_get(key, version)
            instrument = instrument_with_wording(
                structure,
                tomllib.loads(path.read_text(encoding="utf-8")),
                version=f"{version}-{language}",
                language=language,
            )
        except (InstrumentNotFound, tomllib.TOMLDecodeError) as exc:
            raise DefinitionError([f"{path.name}: {exc}"]) from exc
        except DefinitionError as exc:
            raise DefinitionError([f"{path.name}: {error}" for error in exc.errors]) from exc
        found[key, instrument.version] = (version, instrument)
    return found


def translation_get(key: str, language: str) -> Instrument | None:
    """The shipped translation of `key`'s latest version into `language` (its primary subtag:
    "da-DK" finds "da"), None when there is none. Raises InstrumentNotFound for an unknown key."""
    primary = language.split("-")[0].lower()
    found = _translations().get((key, f"{instrument_get(key).version}-{primary}"))
    return found[1] if found else None


def translation_of(key: str, version: str) -> tuple[str, Instrument] | None:
    """(structure version, Instrument) of the shipped translation stored under `version`."""
    return _translations().get((key, version))


def _expected(item: Item) -> str:
    if item.kind == "gate":
        return " or ".join(f"{code.value} ({code.label})" for code in item.codes)
    return f"an integer {item.min_value}-{item.max_value}"


def answers_validate(
    instrument: Instrument, answers: Mapping[str, object], *, modules: Sequence[str] = ()
) -> dict[str, int | None]:
    """The answers as a complete dict over instrument.item_keys(modules), missing keys as None.

    Valid values are None (not answered) and ints the item allows (its codes, or min..max for
    kind "integer"). bool, float (even 2.0), str (even "2") and out-of-range values are refused,
    never clamped or coerced, as are unknown keys and items of modules the study does not collect.
    When a module's gate is 0 (does not apply) its items must be unanswered. Raises AnswersInvalid
    with one message per bad variable; ValueError for an unknown module key (configuration).
    """
    keys = instrument.item_keys(modules)
    allowed = set(keys)
    all_items = {item.key: item for item in instrument.items}
    errors = []
    for key in answers:
        if key in allowed:
            continue
        if key in all_items and all_items[key].module is not None:
            errors.append(f"{key}: module {all_items[key].module} is not collected in this study")
        else:
            errors.append(f"{key}: unknown variable for {instrument.key}")
    clean: dict[str, int | None] = {}
    for key in keys:
        value = answers.get(key)
        item = all_items[key]
        valid = value is None or item.accepts(value)
        if not valid:
            errors.append(
                f"{key}: {type(value).__name__} {value!r:.40} is not a valid answer, "
                f"expected {_expected(item)} or no answer"
            )
        clean[key] = value if valid and isinstance(value, int) else None
    for module in instrument.modules_chosen(modules):
        if clean[module.gate] == 0:
            errors += [
                f"{key}: answered although {module.gate} says the module does not apply"
                for key in module.items
                if clean[key] is not None
            ]
    if errors:
        raise AnswersInvalid(errors)
    return clean
