"""The instrument definition format and its validating parser.

Pure: no Django import, no clock, no file access (scoring/definitions.py reads the files).

Definition file (TOML, one file per released version, named `<key>-<version>.toml`)::

    key = "ehp30"                 # [a-z][a-z0-9_]*
    version = "1.0"               # dotted integers
    title = "..."
    language = "en"
    demo = true                   # labels are ours, not the licensed wording
    licence = "..."               # optional
    stem = "..."                  # optional, shown above every item
    codes = [{ value = 0, label = "Never" }, ...]     # for kind "choice": 0, 1, 2, ... in order
    gate_codes = [{ value = 0, label = "No" }, ...]   # for kind "gate"; required with modules

    [[scales]]                    # key, label, order, items; optional module, method
    key = "pain"                  # method: "percent_of_max" (default) = 100 * sum / (max * n
    label = "Pain"                #   answered); "value" = the single item's answer itself
    order = 1
    items = ["ehp30_q01", ...]

    [[modules]]                   # optional part of a questionnaire a study may choose
    key = "ehp30_work"
    label = "Work"
    order = 1
    gate = "ehp30_work_applies"   # an item of kind "gate" in this module

    [[items]]                     # key, label, order; kind = "choice" (default), "gate" or
    key = "ehp30_q01"             #   "integer"; scale (every non-gate item, exactly the scale
    label = "[Demo] ..."          #   that lists it); module (module items and gates);
    order = 1                     #   kind "integer" only: min, max, anchors (like codes, any
    scale = "pain"                #   values within min..max), unit, mcid

Every item is one variable of the stored answers. Unknown fields are errors, and the parser reports
every problem it finds at once (DefinitionError.errors), not only the first.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scoring.definition_schema import Code, DefinitionError, Instrument, Item, Module, Scale

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # fits Response.instrument_key
VERSION_RE = re.compile(r"^(?=.{1,20}$)[0-9]+(\.[0-9]+)*$")  # fits Response.instrument_version
KINDS = ("choice", "gate", "integer")
METHODS = ("percent_of_max", "value")


def instrument_parse(text: str) -> Instrument:
    """Parse and validate definition TOML. Raises DefinitionError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError([f"invalid TOML: {exc}"]) from exc
    return instrument_from_data(data)


_TYPE_NAMES = {
    str: "a string", int: "an integer", bool: "true or false", list: "an array", dict: "a table"
}


def fields_take(
    table: object, where: str, spec: Mapping[str, type], required: Iterable[str], errors: list[str]
) -> dict[str, Any]:
    """The well-typed known fields of a TOML table; appends an error per unknown, missing or
    mistyped field. Shared with the wording checker."""
    if not isinstance(table, dict):
        errors.append(f"{where}: expected a table")
        return {}
    errors += [f"{where}: unknown field '{name}'" for name in table if name not in spec]
    errors += [f"{where}: missing field '{name}'" for name in required if name not in table]
    taken = {}
    for name, kind in spec.items():
        if name not in table:
            continue
        value = table[name]
        # bool is an int subclass; a TOML `true` is never a valid integer here.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            errors.append(f"{where}: field '{name}' must be {_TYPE_NAMES[kind]}")
        elif kind is str and not value.strip():
            errors.append(f"{where}: field '{name}' must not be empty")
        else:
            taken[name] = value
    return taken


def codes_parse(
    raw: object, where: str, errors: list[str], *, contiguous: bool
) -> tuple[Code, ...]:
    """An array of {value, label}; with `contiguous`, the values must be 0, 1, 2, ..."""
    if not isinstance(raw, list) or not raw:
        errors.append(f"{where}: must be a non-empty array of {{ value, label }}")
        return ()
    codes: list[Code] = []
    for index, entry in enumerate(raw):
        taken = fields_take(
            entry, f"{where}[{index}]", {"value": int, "label": str}, ("value", "label"), errors
        )
        if len(taken) == 2:
            codes.append(Code(taken["value"], taken["label"]))
    values = [code.value for code in codes]
    if len(set(values)) != len(values):
        errors.append(f"{where}: duplicate values {values}")
    elif contiguous and len(codes) == len(raw) and values != list(range(len(values))):
        errors.append(f"{where}: values must be contiguous integers 0, 1, 2, ... got {values}")
    return tuple(sorted(codes, key=lambda code: code.value))


_TOP = {
    "key": str, "version": str, "title": str, "language": str, "demo": bool, "licence": str,
    "stem": str, "codes": list, "gate_codes": list, "items": list, "scales": list, "modules": list,
}
_ITEM = {
    "key": str, "label": str, "order": int, "kind": str, "scale": str, "module": str, "min": int,
    "max": int, "anchors": list, "unit": str, "mcid": int,
}
_INTEGER_ONLY = ("min", "max", "anchors", "unit", "mcid")
_SCALE = {"key": str, "label": str, "order": int, "items": list, "module": str, "method": str}
_MODULE = {"key": str, "label": str, "order": int, "gate": str}


def _entries(
    raw: object, name: str, spec: Mapping[str, type], errors: list[str]
) -> list[dict[str, Any]]:
    """The entries of an array of tables that have a valid, unique key (others are reported)."""
    if not isinstance(raw, list):
        return []
    entries, seen_keys, seen_orders = [], set(), set()
    for index, table in enumerate(raw):
        key = table.get("key") if isinstance(table, dict) else None
        where = f"{name}[{index}]" + (f" ({key})" if isinstance(key, str) else "")
        taken = fields_take(table, where, spec, ("key", "label", "order"), errors)
        if "key" in taken and not KEY_RE.match(taken["key"]):
            errors.append(f"{where}: key must match {KEY_RE.pattern}")
        elif "key" in taken and taken["key"] in seen_keys:
            errors.append(f"{name}: duplicate key '{taken['key']}'")
        elif "key" in taken:
            seen_keys.add(taken["key"])
            taken["where"] = where
            entries.append(taken)
        if "order" in taken and taken["order"] in seen_orders:
            errors.append(f"{where}: duplicate order {taken['order']}")
        seen_orders.add(taken.get("order"))
    return entries


def _item_build(
    raw: dict[str, Any], codes: Mapping[str, tuple[Code, ...]], errors: list[str]
) -> Item | None:
    where, kind = raw["where"], raw.get("kind", "choice")
    if kind not in KINDS:
        errors.append(f"{where}: kind must be one of {', '.join(KINDS)}")
        return None
    if kind != "integer":
        misplaced = [name for name in _INTEGER_ONLY if name in raw]
        errors += [f"{where}: field '{name}' is only for kind 'integer'" for name in misplaced]
    if kind == "gate" and "module" not in raw:
        errors.append(f"{where}: a gate belongs to a module")
    if kind == "gate" and "scale" in raw:
        errors.append(f"{where}: a gate is not in a scale")
    if kind != "gate" and "scale" not in raw:
        errors.append(f"{where}: missing field 'scale'")
    if kind == "integer":
        errors += [f"{where}: missing field '{n}'" for n in ("min", "max") if n not in raw]
        low, high = raw.get("min", 0), raw.get("max", 0)
        if low >= high:
            errors.append(f"{where}: min must be below max")
        item_codes = ()
        if "anchors" in raw:
            item_codes = codes_parse(raw["anchors"], f"{where} anchors", errors, contiguous=False)
        errors += [
            f"{where}: anchor {code.value} is outside {low}..{high}"
            for code in item_codes
            if not low <= code.value <= high
        ]
    else:
        item_codes = codes[kind]
        low, high = 0, len(item_codes) - 1
    if "label" not in raw or "order" not in raw:
        return None
    return Item(
        key=raw["key"], label=raw["label"], order=raw["order"], kind=kind, codes=item_codes,
        min_value=low, max_value=high, scale=raw.get("scale"), module=raw.get("module"),
        unit=raw.get("unit"), mcid=raw.get("mcid"),
    )


def instrument_from_data(data: Mapping[str, Any]) -> Instrument:
    """Validate a parsed definition table; raises DefinitionError listing every problem."""
    errors: list[str] = []
    top = fields_take(
        data, "definition", _TOP, ("key", "version", "title", "language", "demo", "items",
                                   "scales"), errors
    )
    if "key" in top and not KEY_RE.match(top["key"]):
        errors.append(f"definition: key must match {KEY_RE.pattern}")
    if "version" in top and not VERSION_RE.match(top["version"]):
        errors.append("definition: version must be dotted integers like 1.0")
    errors += [f"definition: {name} must not be empty" for name in ("items", "scales")
               if top.get(name) == []]
    raw_items = _entries(top.get("items"), "items", _ITEM, errors)
    raw_scales = _entries(top.get("scales"), "scales", _SCALE, errors)
    raw_modules = _entries(top.get("modules", []), "modules", _MODULE, errors)
    kinds = {raw.get("kind", "choice") for raw in raw_items}
    codes = {"choice": (), "gate": ()}
    for kind, name in (("choice", "codes"), ("gate", "gate_codes")):
        if name in top or kind in kinds:
            codes[kind] = codes_parse(top.get(name), name, errors, contiguous=True)
    built = [_item_build(raw, codes, errors) for raw in raw_items]
    items = {item.key: item for item in built if item is not None}
    scales = [_scale_build(raw, items, errors) for raw in raw_scales]
    modules = [_module_build(raw, items, scales, errors) for raw in raw_modules]
    _membership_check(items, scales, {m.key for m in modules}, errors)
    if errors:
        raise DefinitionError(errors)
    return Instrument(
        key=top["key"], version=top["version"], title=top["title"], language=top["language"],
        demo=top["demo"], licence=top.get("licence", ""), stem=top.get("stem", ""),
        codes=codes["choice"], gate_codes=codes["gate"],
        items=tuple(sorted(items.values(), key=lambda item: item.order)),
        scales=tuple(sorted(scales, key=lambda scale: scale.order)),
        modules=tuple(sorted(modules, key=lambda module: module.order)),
    )


def _scale_build(raw: dict[str, Any], items: Mapping[str, Item], errors: list[str]) -> Scale:
    where, keys = raw["where"], raw.get("items", [])
    method = raw.get("method", "percent_of_max")
    if not keys or not all(isinstance(key, str) for key in keys):
        errors.append(f"{where}: items must be a non-empty array of item keys")
        keys = [key for key in keys if isinstance(key, str)]
    if len(set(keys)) != len(keys):
        errors.append(f"{where}: lists an item twice")
    errors += [f"{where}: unknown item '{key}'" for key in keys if key not in items]
    members = [items[key] for key in keys if key in items]
    ranges = {(item.min_value, item.max_value) for item in members}
    errors += [f"{where}: gate '{item.key}' cannot be scored" for item in members
               if item.kind == "gate"]
    if method not in METHODS:
        errors.append(f"{where}: method must be one of {', '.join(METHODS)}")
    elif method == "value" and len(keys) != 1:
        errors.append(f"{where}: method 'value' needs exactly one item")
    elif method == "percent_of_max" and (len(ranges) > 1 or any(low for low, _ in ranges)):
        # One denominator per scale: 100 * sum / (max * answered) needs a common 0..max range.
        errors.append(f"{where}: items must share one range of codes starting at 0")
    return Scale(
        key=raw["key"], label=raw.get("label", ""), order=raw.get("order", 0),
        items=tuple(keys), module=raw.get("module"), method=method,
    )


def _module_build(
    raw: dict[str, Any], items: Mapping[str, Item], scales: Sequence[Scale], errors: list[str]
) -> Module:
    where, key = raw["where"], raw["key"]
    gates = [item.key for item in items.values() if item.module == key and item.kind == "gate"]
    own_scales = [scale.key for scale in scales if scale.module == key]
    if "gate" not in raw:
        errors.append(f"{where}: missing field 'gate'")
    elif gates != [raw["gate"]]:
        errors.append(f"{where}: gate must name its one gate item, found {gates or 'none'}")
    if len(own_scales) != 1:
        errors.append(f"{where}: needs exactly one scale, found {own_scales or 'none'}")
    members = sorted(
        (i for i in items.values() if i.module == key and i.kind != "gate"), key=lambda i: i.order
    )
    return Module(
        key=key, label=raw.get("label", ""), order=raw.get("order", 0), gate=raw.get("gate", ""),
        scale=own_scales[0] if own_scales else "", items=tuple(item.key for item in members),
    )


def _membership_check(
    items: Mapping[str, Item], scales: Sequence[Scale], modules: set[str], errors: list[str]
) -> None:
    """Every scored item is in exactly one scale, the one it names, of its own module."""
    listed: dict[str, list[Scale]] = {}
    for scale in scales:
        if scale.module is not None and scale.module not in modules:
            errors.append(f"scale {scale.key}: unknown module '{scale.module}'")
        for key in scale.items:
            listed.setdefault(key, []).append(scale)
    for item in items.values():
        if item.module is not None and item.module not in modules:
            errors.append(f"item {item.key}: unknown module '{item.module}'")
        if item.kind == "gate":
            continue
        holders = listed.get(item.key, [])
        if not holders:
            errors.append(f"item {item.key}: is in no scale")
        elif len(holders) > 1:
            names = ", ".join(scale.key for scale in holders)
            errors.append(f"item {item.key}: is in more than one scale ({names})")
        elif holders[0].key != item.scale:
            errors.append(f"item {item.key}: names scale '{item.scale}' but is listed in "
                          f"'{holders[0].key}'")
        elif holders[0].module != item.module:
            errors.append(f"item {item.key}: belongs to module '{item.module}' but its scale "
                          f"'{holders[0].key}' to '{holders[0].module}'")
