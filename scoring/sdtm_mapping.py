"""The SDTM mapping of each instrument version: which domain its records go to and the
sponsor-defined test code and name of every item and derived score.

Pure: no Django import, no clock. A mapping is data, kept beside the definition it maps
(scoring/instruments/<key>-<version>.sdtm.toml; the format is documented in the shipped files)
and checked against it when it is loaded: every item of the instrument mapped exactly once,
every scale with a derived record (unless the scale is its item's value, like the VAS), test
codes of at most 8 characters (letters, digits; not starting with a digit) and names of at
most 40, no code or name twice. A mapping that does not fit its definition fails loudly with
every problem listed (DefinitionError), as a broken definition does.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from scoring.definition_parse import fields_take
from scoring.definition_schema import DefinitionError, Instrument
from scoring.definitions import INSTRUMENTS_DIR, MAPPING_SUFFIX, instrument_get

DOMAINS = ("QS", "FA")
TESTCD_RE = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")  # SDTMIG 3.4 section 4.5.3.1: 8, no leading digit
TEST_MAX = 40  # --TEST: 40 characters (XPT v5 label limit)
ISO_DURATION_RE = re.compile(r"^-?P(\d+[YMWD])+$")


@dataclass(frozen=True)
class MappedTest:
    """One record kind: an item's answer or a scale's derived score."""

    key: str  # the item or scale key in the definition
    testcd: str
    test: str
    subcategory: str  # --SCAT; "" when the domain has none (FA)
    derived: bool  # a scale score (QSDRVFL = "Y")
    gate: str = ""  # the gate item of the module an item belongs to ("" for core items)


@dataclass(frozen=True)
class Mapping:
    instrument: Instrument
    domain: str  # QS or FA
    category: str  # --CAT
    evlint: str = ""  # --EVLINT, an ISO 8601 duration such as -P4W
    evintx: str = ""  # --EVINTX, the recall period in words
    object: str = ""  # FAOBJ
    method: str = ""  # --METHOD
    unit: str = ""  # --ORRESU / --STRESU
    items: tuple[MappedTest, ...] = ()  # by the definition's item order
    scores: tuple[MappedTest, ...] = ()  # by the definition's scale order

    def item(self, key: str) -> MappedTest:
        return next(test for test in self.items if test.key == key)

    def tests_for(
        self, modules: tuple[str, ...]
    ) -> tuple[tuple[MappedTest, ...], tuple[MappedTest, ...]]:
        """(items, scores) of the study's modules: presentation order, then scale order."""
        keys = self.instrument.item_keys(modules)
        by_key = {test.key: test for test in self.items}
        scales = {scale.key for scale in self.instrument.scales_for(modules)}
        return (
            tuple(by_key[key] for key in keys),
            tuple(score for score in self.scores if score.key in scales),
        )


_TOP = {
    "domain": str, "category": str, "evlint": str, "evintx": str, "object": str,
    "method": str, "unit": str, "scales": list, "items": list,
}  # fmt: skip


def mapping_parse(text: str, instrument: Instrument) -> Mapping:
    """A mapping TOML checked against `instrument`. Raises DefinitionError listing every
    problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError([f"invalid TOML: {exc}"]) from exc
    errors: list[str] = []
    top = fields_take(data, "mapping", _TOP, ("domain", "category", "items"), errors)
    domain = top.get("domain", "")
    if domain and domain not in DOMAINS:
        errors.append(f"domain: {domain!r} is not one of {', '.join(DOMAINS)}")
    if top.get("evlint") and not ISO_DURATION_RE.match(top["evlint"]):
        errors.append(f"evlint: {top['evlint']!r} is not an ISO 8601 duration such as -P4W")
    scale_sub: dict[str, str] = {}
    scores: list[MappedTest] = []
    for n, table in enumerate(top.get("scales", []), start=1):
        row = fields_take(table, f"scales[{n}]", {"scale": str, "subcategory": str,
                          "testcd": str, "test": str}, ("scale", "subcategory", "testcd",
                          "test"), errors)  # fmt: skip
        key = row.get("scale", "")
        if key not in {s.key for s in instrument.scales}:
            errors.append(f"scales[{n}]: {instrument.key} has no scale {key!r}")
            continue
        scale_sub[key] = row.get("subcategory", "")
        scores.append(MappedTest(key, row.get("testcd", ""), row.get("test", ""),
                                 scale_sub[key], derived=True))  # fmt: skip
    gates = {m.gate: m for m in instrument.modules}
    module_of = {key: m for m in instrument.modules for key in m.items}
    items: dict[str, MappedTest] = {}
    for n, table in enumerate(top.get("items", []), start=1):
        row = fields_take(table, f"items[{n}]", {"item": str, "testcd": str, "test": str},
                          ("item", "testcd", "test"), errors)  # fmt: skip
        key = row.get("item", "")
        if key not in {i.key for i in instrument.items}:
            errors.append(f"items[{n}]: {instrument.key} has no item {key!r}")
            continue
        if key in items:
            errors.append(f"items[{n}]: {key} is mapped twice")
        module = gates.get(key) or module_of.get(key)
        scale = module.scale if module else instrument.item(key).scale
        gate = module.gate if module and key != module.gate else ""
        subcategory = scale_sub.get(scale or "", "")
        items[key] = MappedTest(key, row.get("testcd", ""), row.get("test", ""), subcategory,
                                derived=False, gate=gate)  # fmt: skip
    errors += [f"items: {item.key} is not mapped" for item in instrument.items
               if item.key not in items]  # fmt: skip
    scored = {s.key for s in instrument.scales if s.method != "value"}
    errors += [f"scales: {key} has no derived record" for key in sorted(scored - set(scale_sub))]
    tests = [*items.values(), *scores]
    for test in tests:
        if not TESTCD_RE.match(test.testcd):
            errors.append(f"{test.key}: test code {test.testcd!r} is not 1-8 capital letters "
                          "and digits starting with a letter")  # fmt: skip
        if not test.test or len(test.test) > TEST_MAX:
            errors.append(f"{test.key}: test name must have 1-{TEST_MAX} characters")
    for field in ("testcd", "test"):
        values = [getattr(t, field) for t in tests]
        errors += [f"{field} {v!r} is used twice" for v in sorted({v for v in values
                   if values.count(v) > 1})]  # fmt: skip
    if errors:
        raise DefinitionError(errors)
    order = {item.key: item.order for item in instrument.items}
    scale_order = {scale.key: scale.order for scale in instrument.scales}
    return Mapping(
        instrument=instrument,
        domain=domain,
        category=top["category"],
        evlint=top.get("evlint", ""),
        evintx=top.get("evintx", ""),
        object=top.get("object", ""),
        method=top.get("method", ""),
        unit=top.get("unit", ""),
        items=tuple(sorted(items.values(), key=lambda t: order[t.key])),
        scores=tuple(sorted(scores, key=lambda t: scale_order[t.key])),
    )


def mapping_path(instrument: Instrument) -> Path:
    return INSTRUMENTS_DIR / f"{instrument.key}-{instrument.version}{MAPPING_SUFFIX}"


@cache
def mapping_get(key: str, version: str) -> Mapping:
    """The shipped mapping of instrument `key` at `version`; DefinitionError (with the file
    name) when it is missing or does not fit the definition."""
    instrument = instrument_get(key, version)
    path = mapping_path(instrument)
    if not path.exists():
        raise DefinitionError([f"{path.name}: no SDTM mapping for {key} {version}"])
    try:
        return mapping_parse(path.read_text(encoding="utf-8"), instrument)
    except DefinitionError as exc:
        raise DefinitionError([f"{path.name}: {error}" for error in exc.errors]) from exc
