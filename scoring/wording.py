"""Licensed wording: check a wording file against a structure and apply it as a new version.

Pure: no Django import, no clock, no file access. The repository ships structures with demo labels;
a deployment keeps the licensed wording (e.g. the EHP-30 from Oxford University Innovation, and its
official translations) in a file outside the repository. The `load_instrument_text` management
command reads that file with tomllib, calls wording_check, then instrument_with_wording, and stores
the result as a new instrument version with its own content hash.

Wording file (TOML), one per structure and language::

    instrument = "ehp30"            # key of the structure it fits (required)
    language = "en-GB"              # optional; when present must equal the language given
    title = "..."                   # required: replaces the structure's (demo) title
    licence = "..."                 # optional: licence reference, replaces the structure's
    stem = "..."                    # required exactly when the structure has a stem

    [codes]                         # one label per response code of the structure, no more
    0 = "Never"                     # (required when the structure has choice items)
    1 = "Rarely"
    # ...
    [gate_codes]                    # the same for gate questions (required with modules)
    0 = "No"
    1 = "Yes"

    [items.ehp30_q01]               # one table per variable of the structure, module items
    text = "..."                    # and gates included, and no other
    [items.ehp30_work_applies]
    text = "..."
    [items.vas_dysmenorrhea]        # kind "integer": anchors, one label per structure anchor
    text = "..."
    anchors = { 0 = "...", 100 = "..." }

    [scales.pain]                   # optional: scale and module labels (e.g. translations)
    label = "..."
    [modules.ehp30_work]
    label = "..."
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from scoring.definition_parse import fields_take
from scoring.definition_schema import Code, DefinitionError, Instrument, Item

# A wording version is stored in Response.instrument_version (20 characters), e.g. "1.0-oui-en".
WORDING_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,19}$")

_WORDING = {
    "instrument": str, "language": str, "title": str, "licence": str, "stem": str, "codes": dict,
    "gate_codes": dict, "items": dict, "scales": dict, "modules": dict,
}


def _labels_check(raw: object, codes: Sequence[Code], where: str, problems: list[str]) -> None:
    """`raw` must map every code value (as a TOML key) to a non-empty label, and nothing else."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table of code = label")
        return
    expected = [str(code.value) for code in codes]
    missing = [value for value in expected if value not in raw]
    extra = [value for value in raw if value not in expected]
    if missing or extra:
        problems.append(
            f"{where}: {len(raw)} labels for {len(expected)} codes ({', '.join(expected)})"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
        )
    problems += [
        f"{where}: label for {value} must be a non-empty string"
        for value in expected
        if value in raw and not (isinstance(raw[value], str) and raw[value].strip())
    ]


def _item_check(item: Item, raw: object, problems: list[str]) -> None:
    where = f"items.{item.key}"
    has_anchors = item.kind == "integer" and bool(item.codes)
    spec: dict[str, type] = {"text": str, "anchors": dict} if has_anchors else {"text": str}
    taken = fields_take(raw, where, spec, spec, problems)
    if "anchors" in taken:
        _labels_check(taken["anchors"], item.codes, f"{where}.anchors", problems)


def _labels_table_check(
    raw: object, known: Sequence[str], where: str, problems: list[str]
) -> None:
    if not isinstance(raw, dict):
        return
    for key, entry in raw.items():
        if key not in known:
            problems.append(f"{where}.{key}: unknown {where[:-1]}")
        else:
            fields_take(entry, f"{where}.{key}", {"label": str}, ("label",), problems)


def wording_check(instrument: Instrument, wording: Mapping[str, Any]) -> list[str]:
    """Every problem that keeps `wording` from fitting `instrument` item for item; [] when it fits.

    Checks: known fields only, the instrument key, stem present exactly when the structure has
    one, one label per code (and per gate code, per anchor), a text for every variable (all
    modules and gates included) and no unknown variable, scale and module labels for known keys.
    """
    problems: list[str] = []
    required = ["instrument", "title", "items"]
    required += ["stem"] if instrument.stem else []
    required += ["codes"] if instrument.codes else []
    required += ["gate_codes"] if instrument.gate_codes else []
    top = fields_take(wording, "wording", _WORDING, required, problems)
    if "instrument" in top and top["instrument"] != instrument.key:
        problems.append(f"wording: is for '{top['instrument']}', not '{instrument.key}'")
    if "stem" in top and not instrument.stem:
        problems.append(f"wording: stem given but {instrument.key} has no stem")
    for name, codes in (("codes", instrument.codes), ("gate_codes", instrument.gate_codes)):
        if name in top and not codes:
            problems.append(f"{name}: {instrument.key} has no such codes")
        elif name in top:
            _labels_check(top[name], codes, name, problems)
    texts = top.get("items", {})
    for item in instrument.items:
        if item.key in texts:
            _item_check(item, texts[item.key], problems)
        elif "items" in top:
            problems.append(f"items.{item.key}: missing text")
    known_items = {item.key for item in instrument.items}
    problems += [f"items.{key}: unknown item" for key in texts if key not in known_items]
    _labels_table_check(top.get("scales"), [s.key for s in instrument.scales], "scales", problems)
    _labels_table_check(
        top.get("modules"), [m.key for m in instrument.modules], "modules", problems
    )
    return problems


def _relabel(codes: Sequence[Code], labels: Mapping[str, str]) -> tuple[Code, ...]:
    return tuple(Code(code.value, labels[str(code.value)]) for code in codes)


def instrument_with_wording(
    instrument: Instrument, wording: Mapping[str, Any], *, version: str, language: str
) -> Instrument:
    """A new Instrument: the same structure with the wording's labels, demo=False, the given
    version and language, and therefore its own content hash.

    Raises DefinitionError with every problem of wording_check, plus a version that is not new or
    not storable, and a language differing from the one the file declares.
    """
    problems = wording_check(instrument, wording)
    if not WORDING_VERSION_RE.match(version):
        problems.append(f"version: '{version}' must match {WORDING_VERSION_RE.pattern}")
    elif version == instrument.version:
        problems.append(f"version: '{version}' is the structure's own version, choose a new one")
    if not language.strip():
        problems.append("language: must not be empty")
    elif wording.get("language", language) != language:
        problems.append(f"language: file says '{wording['language']}', given '{language}'")
    if problems:
        raise DefinitionError(problems)
    codes, gate_codes = wording.get("codes", {}), wording.get("gate_codes", {})
    texts = wording["items"]

    def item_worded(item: Item) -> Item:
        if item.kind == "choice":
            labels = codes
        elif item.kind == "gate":
            labels = gate_codes
        else:
            labels = texts[item.key].get("anchors", {})
        return dataclasses.replace(
            item, label=texts[item.key]["text"], codes=_relabel(item.codes, labels)
        )

    scale_labels, module_labels = wording.get("scales", {}), wording.get("modules", {})
    return dataclasses.replace(
        instrument,
        version=version,
        language=language,
        demo=False,
        title=wording["title"],
        licence=wording.get("licence", instrument.licence),
        stem=wording.get("stem", instrument.stem),
        codes=_relabel(instrument.codes, codes),
        gate_codes=_relabel(instrument.gate_codes, gate_codes),
        items=tuple(item_worded(item) for item in instrument.items),
        scales=tuple(
            dataclasses.replace(s, label=scale_labels.get(s.key, {}).get("label", s.label))
            for s in instrument.scales
        ),
        modules=tuple(
            dataclasses.replace(m, label=module_labels.get(m.key, {}).get("label", m.label))
            for m in instrument.modules
        ),
    )
