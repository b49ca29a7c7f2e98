"""The in-memory form of an instrument definition: frozen dataclasses.

Pure: no Django import, no clock. Build instances with scoring.definition_parse (the file format
is documented there); import them from scoring.definitions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any


class DefinitionError(ValueError):
    """A definition (or a wording file) is invalid; `errors` lists every problem found."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class Code:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    """One variable. `codes` are every valid value for choices and gates, only the labelled
    anchors for kind "integer" (whose valid values are min_value..max_value)."""

    key: str
    label: str
    order: int
    kind: str
    codes: tuple[Code, ...]
    min_value: int
    max_value: int
    scale: str | None = None
    module: str | None = None
    unit: str | None = None
    mcid: int | None = None

    def accepts(self, value: object) -> bool:
        """True for an int this item allows. bool is refused although it subclasses int."""
        if type(value) is not int:
            return False
        if self.kind == "integer":
            return self.min_value <= value <= self.max_value
        return any(code.value == value for code in self.codes)


@dataclass(frozen=True)
class Scale:
    key: str
    label: str
    order: int
    items: tuple[str, ...]
    module: str | None = None
    method: str = "percent_of_max"


@dataclass(frozen=True)
class Module:
    """An optional block: a gate question, then `items` (presentation order), scored as `scale`."""

    key: str
    label: str
    order: int
    gate: str
    scale: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    """One screen of the participant UI: a core scale, or a chosen module (gate first)."""

    key: str
    label: str
    item_keys: tuple[str, ...]
    module: str | None = None


@dataclass(frozen=True)
class Instrument:
    """A validated, immutable instrument version. Build it with instrument_parse."""

    key: str
    version: str
    title: str
    language: str
    demo: bool
    licence: str
    stem: str
    codes: tuple[Code, ...]
    gate_codes: tuple[Code, ...]
    items: tuple[Item, ...]  # every variable, by order
    scales: tuple[Scale, ...]  # by order
    modules: tuple[Module, ...]  # by order

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 hex of the canonical JSON of every field: formatting and comments of the
        file do not count, any change of content does. Stored with every response and score."""
        canonical = json.dumps(
            dataclasses.asdict(self), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @cached_property
    def _by_key(self) -> dict[str, Any]:
        return {
            "items": {item.key: item for item in self.items},
            "scales": {scale.key: scale for scale in self.scales},
            "modules": {module.key: module for module in self.modules},
        }

    def item(self, key: str) -> Item:
        return self._by_key["items"][key]

    def scale(self, key: str) -> Scale:
        return self._by_key["scales"][key]

    def module(self, key: str) -> Module:
        return self._by_key["modules"][key]

    def modules_chosen(self, modules: Iterable[str] = ()) -> tuple[Module, ...]:
        """The chosen modules in definition order. Raises ValueError for an unknown module key
        (a study configuration error, not a participant's)."""
        if isinstance(modules, str):
            raise TypeError("modules must be a sequence of module keys, not a string")
        chosen = set(modules)
        unknown = sorted(chosen - set(self._by_key["modules"]))
        if unknown:
            raise ValueError(f"{self.key} has no module {', '.join(unknown)}")
        return tuple(module for module in self.modules if module.key in chosen)

    def pages(self, modules: Iterable[str] = ()) -> tuple[Page, ...]:
        """One page per core scale, then one per chosen module with its gate first."""
        order = {item.key: item.order for item in self.items}
        pages = [
            Page(scale.key, scale.label, tuple(sorted(scale.items, key=order.__getitem__)))
            for scale in self.scales
            if scale.module is None
        ]
        pages += [
            Page(module.key, module.label, (module.gate, *module.items), module.key)
            for module in self.modules_chosen(modules)
        ]
        return tuple(pages)

    def item_keys(self, modules: Iterable[str] = ()) -> tuple[str, ...]:
        """Every variable a response holds for these modules, in presentation order."""
        return tuple(key for page in self.pages(modules) for key in page.item_keys)

    def scales_for(self, modules: Iterable[str] = ()) -> tuple[Scale, ...]:
        """Scales to score: the core scales, then those of the chosen modules."""
        chosen = {module.key for module in self.modules_chosen(modules)}
        return tuple(s for s in self.scales if s.module is None or s.module in chosen)
