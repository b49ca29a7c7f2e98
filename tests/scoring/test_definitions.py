"""Instrument definitions: shipped files, pinned hashes, validation of definitions and answers,
and licensed wording."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from scoring.definitions import (
    INSTRUMENTS_DIR,
    AnswersInvalid,
    DefinitionError,
    Instrument,
    InstrumentNotFound,
    answers_validate,
    definition_files,
    instrument_get,
    instrument_load,
    instrument_parse,
    instrument_with_wording,
    instruments_available,
    wording_check,
)

# A released version is frozen: if one of these fails, the file (or its canonical form) changed.
# Make a new version file instead of editing a released one.
PINNED_HASHES = {
    "ehp30-1.0.toml": "0c6297559aeac8607e19164aef4042e3b36fd6e675a9c3d67c4f55a243a180e6",
    "vas_dysmenorrhea-1.0.toml": "ca7fb44c8fb5a20fdbc3cecc7a6576cd1bd6349cd811192066dc459309143f43",
}
CORE_SCALES = {
    "pain": range(1, 12),
    "control_powerlessness": range(12, 18),
    "emotional_wellbeing": range(18, 24),
    "social_support": range(24, 28),
    "self_image": range(28, 31),
}
MODULE_SIZES = {
    "ehp30_work": 5,
    "ehp30_children": 2,
    "ehp30_sex": 5,
    "ehp30_medical": 4,
    "ehp30_treatment": 3,
    "ehp30_infertility": 4,
}
ALL_MODULES = tuple(MODULE_SIZES)


@pytest.fixture
def ehp30() -> Instrument:
    return instrument_get("ehp30", "1.0")


@pytest.fixture
def vas() -> Instrument:
    return instrument_get("vas_dysmenorrhea", "1.0")


# ---- shipped files ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", definition_files(), ids=lambda p: p.name)
def test_every_shipped_file_loads_and_is_named_after_its_key_and_version(path: Path) -> None:
    instrument = instrument_load(path)
    assert path.name == f"{instrument.key}-{instrument.version}.toml"


@pytest.mark.parametrize(("name", "expected"), sorted(PINNED_HASHES.items()))
def test_released_file_keeps_its_pinned_content_hash(name: str, expected: str) -> None:
    assert instrument_load(INSTRUMENTS_DIR / name).content_hash == expected


def test_every_shipped_file_has_a_pinned_hash() -> None:
    assert {path.name for path in definition_files()} == set(PINNED_HASHES)


def test_content_hash_ignores_comments_and_layout_but_not_content() -> None:
    text = (INSTRUMENTS_DIR / "vas_dysmenorrhea-1.0.toml").read_text(encoding="utf-8")
    reformatted = "# another comment\n\n" + text.replace(" = ", "   =   ") + "\n\n"
    relabelled = text.replace('"No pain"', '"No pain at all"')
    original = instrument_parse(text).content_hash
    assert instrument_parse(reformatted).content_hash == original
    assert instrument_parse(relabelled).content_hash != original
    assert len(original) == 64 and int(original, 16) >= 0


def test_instrument_get_without_version_returns_latest_and_caches() -> None:
    latest = instrument_get("ehp30")
    assert latest.version == "1.0"
    assert instrument_get("ehp30") is latest
    assert [(i.key, i.version) for i in instruments_available()] == [
        ("ehp30", "1.0"),
        ("vas_dysmenorrhea", "1.0"),
    ]


@pytest.mark.parametrize(("key", "version"), [("ehp5", None), ("ehp30", "9.9")])
def test_instrument_get_refuses_unknown_key_or_version(key: str, version: str | None) -> None:
    with pytest.raises(InstrumentNotFound):
        instrument_get(key, version)


def test_ehp30_core_has_thirty_items_in_five_scales_coded_0_to_4(ehp30: Instrument) -> None:
    assert [s.key for s in ehp30.scales if s.module is None] == list(CORE_SCALES)
    for key, numbers in CORE_SCALES.items():
        assert ehp30.scale(key).items == tuple(f"ehp30_q{n:02d}" for n in numbers)
        assert all(ehp30.item(item).scale == key for item in ehp30.scale(key).items)
    assert [(c.value, c.label) for c in ehp30.codes] == [
        (0, "Never"),
        (1, "Rarely"),
        (2, "Sometimes"),
        (3, "Often"),
        (4, "Always"),
    ]
    assert ehp30.item_keys() == tuple(f"ehp30_q{n:02d}" for n in range(1, 31))
    assert all(ehp30.item(key).max_value == 4 for key in ehp30.item_keys())


def test_ehp30_modules_each_have_a_yes_no_gate_and_their_own_scale(ehp30: Instrument) -> None:
    assert [m.key for m in ehp30.modules] == list(MODULE_SIZES)
    for module in ehp30.modules:
        size = MODULE_SIZES[module.key]
        assert module.items == tuple(f"{module.key}_q{n}" for n in range(1, size + 1))
        assert module.gate == f"{module.key}_applies"
        gate = ehp30.item(module.gate)
        assert gate.kind == "gate" and gate.module == module.key and gate.scale is None
        assert [(c.value, c.label) for c in gate.codes] == [(0, "No"), (1, "Yes")]
        assert ehp30.scale(module.scale).items == module.items
        assert ehp30.scale(module.scale).module == module.key


def test_vas_is_one_integer_item_0_to_100_with_two_anchors(vas: Instrument) -> None:
    (item,) = vas.items
    assert item.key == "vas_dysmenorrhea" and item.kind == "integer"
    assert (item.min_value, item.max_value, item.unit, item.mcid) == (0, 100, "mm", 10)
    assert [(c.value, c.label) for c in item.codes] == [
        (0, "No pain"),
        (100, "Worst pain imaginable"),
    ]
    assert item.label == "How bad was your period pain during your last period?"
    assert [(s.key, s.method, s.items) for s in vas.scales] == [
        ("vas_dysmenorrhea", "value", ("vas_dysmenorrhea",)),
    ]


def test_repo_ships_no_official_ehp30_wording(ehp30: Instrument) -> None:
    raw = tomllib.loads((INSTRUMENTS_DIR / "ehp30-1.0.toml").read_text(encoding="utf-8"))
    assert raw["demo"] is True and ehp30.demo is True
    assert all(item.label.startswith("[Demo]") for item in ehp30.items)
    assert ehp30.stem.startswith("[Demo]")


def test_item_keys_put_chosen_modules_after_the_core_with_gate_first(ehp30: Instrument) -> None:
    keys = ehp30.item_keys(["ehp30_children", "ehp30_work"])
    assert keys[:30] == ehp30.item_keys()
    assert keys[30:] == (
        "ehp30_work_applies",
        *(f"ehp30_work_q{n}" for n in range(1, 6)),
        "ehp30_children_applies",
        "ehp30_children_q1",
        "ehp30_children_q2",
    )
    assert len(ehp30.item_keys(ALL_MODULES)) == 30 + 6 + 23


def test_pages_are_one_per_core_scale_then_one_per_chosen_module(ehp30: Instrument) -> None:
    pages = ehp30.pages(["ehp30_sex"])
    assert [(p.key, p.module, len(p.item_keys)) for p in pages] == [
        ("pain", None, 11),
        ("control_powerlessness", None, 6),
        ("emotional_wellbeing", None, 6),
        ("social_support", None, 4),
        ("self_image", None, 3),
        ("ehp30_sex", "ehp30_sex", 6),
    ]
    assert pages[-1].item_keys[0] == "ehp30_sex_applies"
    assert pages[0].label == "Pain"


def test_unknown_module_is_a_configuration_error(ehp30: Instrument) -> None:
    with pytest.raises(ValueError, match="ehp30_pets"):
        ehp30.item_keys(["ehp30_pets"])
    with pytest.raises(TypeError):
        ehp30.item_keys("ehp30_work")


# ---- invalid definitions -------------------------------------------------------------------------

MINI = """
key = "mini"
version = "1.0"
title = "Mini"
language = "en"
demo = true
codes = [{ value = 0, label = "No" }, { value = 1, label = "Some" }, { value = 2, label = "Lots" }]
gate_codes = [{ value = 0, label = "No" }, { value = 1, label = "Yes" }]

[[scales]]
key = "alpha"
label = "Alpha"
order = 1
items = ["a1", "a2"]

[[scales]]
key = "beta"
label = "Beta"
order = 2
items = ["b1", "b2"]

[[scales]]
key = "mod"
label = "Module"
order = 3
module = "mod"
items = ["m_q1"]

[[modules]]
key = "mod"
label = "Module"
order = 1
gate = "m_applies"

[[items]]
key = "a1"
label = "A1"
order = 1
scale = "alpha"

[[items]]
key = "a2"
label = "A2"
order = 2
scale = "alpha"

[[items]]
key = "b1"
label = "B1"
order = 3
scale = "beta"

[[items]]
key = "b2"
label = "B2"
order = 4
scale = "beta"

[[items]]
key = "m_applies"
label = "Applies?"
order = 5
kind = "gate"
module = "mod"

[[items]]
key = "m_q1"
label = "M1"
order = 6
module = "mod"
scale = "mod"
"""

# Each defect: the edit of MINI that introduces it, and a fragment of the message naming it.
DEFECTS = {
    "duplicate item key": (('key = "b2"', 'key = "b1"'), "items: duplicate key 'b1'"),
    "item in two scales": (
        ('items = ["b1", "b2"]', 'items = ["b1", "b2", "a1"]'),
        "item a1: is in more than one scale (alpha, beta)",
    ),
    "unknown field": (
        ('label = "A2"', 'label = "A2"\ncolour = "red"'),
        "items[1] (a2): unknown field 'colour'",
    ),
    "non-contiguous codes": (
        ('{ value = 2, label = "Lots" }', '{ value = 3, label = "Lots" }'),
        "codes: values must be contiguous",
    ),
    "core item in no scale": (
        ('items = ["a1", "a2"]', 'items = ["a1"]'),
        "item a2: is in no scale",
    ),
    "scale lists an unknown item": (
        ('items = ["m_q1"]', 'items = ["m_q1", "m_q9"]'),
        "unknown item 'm_q9'",
    ),
    "module without gate": (('gate = "m_applies"\n', ""), "modules[0] (mod): missing field 'gate'"),
    "module item in a core scale": (
        ('items = ["a1", "a2"]', 'items = ["a1", "a2", "m_q1"]'),
        "item m_q1: is in more than one scale",
    ),
    "bool as order": (("order = 4\n", "order = true\n"), "field 'order' must be an integer"),
}


def _broken(*names: str) -> str:
    text = MINI
    for name in names:
        (old, new), _ = DEFECTS[name]
        assert old in text, name
        text = text.replace(old, new, 1)
    return text


def test_minimal_definition_is_valid() -> None:
    mini = instrument_parse(MINI)
    assert mini.item_keys(["mod"]) == ("a1", "a2", "b1", "b2", "m_applies", "m_q1")


@pytest.mark.parametrize("name", list(DEFECTS))
def test_invalid_definition_names_the_problem(name: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        instrument_parse(_broken(name))
    assert any(DEFECTS[name][1] in error for error in raised.value.errors), raised.value.errors


def test_invalid_definition_lists_every_problem_not_just_the_first() -> None:
    names = [
        "duplicate item key",
        "item in two scales",
        "unknown field",
        "non-contiguous codes",
        "core item in no scale",
    ]
    with pytest.raises(DefinitionError) as raised:
        instrument_parse(_broken(*names))
    for name in names:
        assert any(DEFECTS[name][1] in error for error in raised.value.errors), name


def test_unknown_top_level_field_is_named() -> None:
    with pytest.raises(DefinitionError) as raised:
        instrument_parse("colour = 'red'\n" + MINI)
    assert raised.value.errors == ["definition: unknown field 'colour'"]


def test_load_refuses_a_file_named_differently_from_key_and_version(tmp_path: Path) -> None:
    path = tmp_path / "mini-2.0.toml"
    path.write_text(MINI, encoding="utf-8")
    with pytest.raises(DefinitionError) as raised:
        instrument_load(path)
    assert raised.value.errors == [
        "mini-2.0.toml: file name must be key-version.toml, here mini-1.0.toml"
    ]


# ---- answers ------------------------------------------------------------------------------------


def test_answers_validate_returns_every_variable_with_none_for_missing(ehp30: Instrument) -> None:
    clean = answers_validate(ehp30, {"ehp30_q01": 4, "ehp30_q30": 0}, modules=["ehp30_work"])
    assert tuple(clean) == ehp30.item_keys(["ehp30_work"])
    assert clean["ehp30_q01"] == 4 and clean["ehp30_q30"] == 0
    assert clean["ehp30_q02"] is None and clean["ehp30_work_applies"] is None


@pytest.mark.parametrize(
    "value",
    [True, False, 2.0, 0.0, "2", 5, -1, [1], {"code": 2}, Decimal(2)],
    ids=repr,
)
def test_answers_validate_refuses_anything_but_an_int_code(
    ehp30: Instrument, value: object
) -> None:
    answers = {"ehp30_q05": value, "ehp30_q06": 3}
    with pytest.raises(AnswersInvalid) as raised:
        answers_validate(ehp30, answers)
    assert len(raised.value.errors) == 1 and raised.value.errors[0].startswith("ehp30_q05: ")
    assert answers["ehp30_q05"] is value  # never coerced in place


@pytest.mark.parametrize(
    ("value", "valid"),
    [(0, True), (100, True), (57, True), (101, False), (-1, False), (50.0, False), ("50", False)],
)
def test_vas_accepts_integers_0_to_100_only(vas: Instrument, value: object, valid: bool) -> None:
    if valid:
        assert answers_validate(vas, {"vas_dysmenorrhea": value}) == {"vas_dysmenorrhea": value}
    else:
        with pytest.raises(AnswersInvalid, match=r"^vas_dysmenorrhea: "):
            answers_validate(vas, {"vas_dysmenorrhea": value})


def test_answers_validate_refuses_unknown_keys_and_unchosen_module_items(ehp30: Instrument) -> None:
    answers = {"ehp30_q31": 1, "ehp30_sex_q1": 2, "ehp30_sex_applies": 1, "ehp30_work_q1": 2}
    with pytest.raises(AnswersInvalid) as raised:
        answers_validate(ehp30, answers, modules=["ehp30_work"])
    assert raised.value.errors == [
        "ehp30_q31: unknown variable for ehp30",
        "ehp30_sex_q1: module ehp30_sex is not collected in this study",
        "ehp30_sex_applies: module ehp30_sex is not collected in this study",
    ]


def test_gate_accepts_only_yes_or_no(ehp30: Instrument) -> None:
    with pytest.raises(AnswersInvalid) as raised:
        answers_validate(ehp30, {"ehp30_work_applies": 2}, modules=["ehp30_work"])
    assert raised.value.errors == [
        "ehp30_work_applies: int 2 is not a valid answer, expected 0 (No) or 1 (Yes) or no answer"
    ]


def test_module_that_does_not_apply_refuses_answers_to_its_items(ehp30: Instrument) -> None:
    answers = {"ehp30_work_applies": 0, "ehp30_work_q1": 2, "ehp30_work_q3": 0}
    with pytest.raises(AnswersInvalid) as raised:
        answers_validate(ehp30, answers, modules=["ehp30_work"])
    assert raised.value.errors == [
        "ehp30_work_q1: answered although ehp30_work_applies says the module does not apply",
        "ehp30_work_q3: answered although ehp30_work_applies says the module does not apply",
    ]
    clean = answers_validate(ehp30, {"ehp30_work_applies": 0}, modules=["ehp30_work"])
    assert clean["ehp30_work_applies"] == 0 and clean["ehp30_work_q1"] is None


def test_answers_validate_reports_one_message_per_bad_variable(ehp30: Instrument) -> None:
    with pytest.raises(AnswersInvalid) as raised:
        answers_validate(ehp30, {"ehp30_q01": 7, "ehp30_q02": "x", "ehp30_q03": 2, "zz": 1})
    assert sorted(error.split(":")[0] for error in raised.value.errors) == [
        "ehp30_q01",
        "ehp30_q02",
        "zz",
    ]


# ---- licensed wording ---------------------------------------------------------------------------


def _wording(instrument: Instrument) -> dict:
    """A complete wording for `instrument`, as tomllib would read it from a file."""
    wording: dict = {
        "instrument": instrument.key,
        "language": "en-GB",
        "title": "Licensed title",
        "stem": "Licensed stem",
        "codes": {str(c.value): f"L{c.value}" for c in instrument.codes},
        "gate_codes": {"0": "Nope", "1": "Yep"},
        "items": {item.key: {"text": f"Licensed {item.key}"} for item in instrument.items},
        "scales": {"pain": {"label": "Douleur"}},
    }
    return wording


def test_wording_file_format_as_documented_fits_the_vas(vas: Instrument) -> None:
    wording = tomllib.loads("""
instrument = "vas_dysmenorrhea"
language = "fr"
title = "EVA dysmenorrhée"

[items.vas_dysmenorrhea]
text = "Quelle était l'intensité de vos règles douloureuses ?"
anchors = { 0 = "Aucune douleur", 100 = "Pire douleur imaginable" }
""")
    assert wording_check(vas, wording) == []
    french = instrument_with_wording(vas, wording, version="1.0-fr", language="fr")
    assert [c.label for c in french.items[0].codes] == ["Aucune douleur", "Pire douleur imaginable"]


def test_complete_wording_fits_and_gives_a_new_non_demo_version(ehp30: Instrument) -> None:
    wording = _wording(ehp30)
    assert wording_check(ehp30, wording) == []
    licensed = instrument_with_wording(ehp30, wording, version="1.0-oui-en", language="en-GB")
    assert (licensed.key, licensed.version, licensed.language) == ("ehp30", "1.0-oui-en", "en-GB")
    assert licensed.demo is False and licensed.title == "Licensed title"
    assert licensed.item("ehp30_q01").label == "Licensed ehp30_q01"
    assert [c.label for c in licensed.item("ehp30_q01").codes] == ["L0", "L1", "L2", "L3", "L4"]
    assert [c.label for c in licensed.item("ehp30_work_applies").codes] == ["Nope", "Yep"]
    assert licensed.scale("pain").label == "Douleur"
    assert licensed.scale("self_image").label == "Self-image"
    assert licensed.item_keys(ALL_MODULES) == ehp30.item_keys(ALL_MODULES)
    assert [s.items for s in licensed.scales] == [s.items for s in ehp30.scales]
    assert licensed.content_hash != ehp30.content_hash
    assert ehp30.item("ehp30_q01").label.startswith("[Demo]")  # the original is untouched


def test_wording_check_lists_every_mismatch(ehp30: Instrument) -> None:
    wording = _wording(ehp30)
    wording["instrument"] = "ehp5"
    del wording["stem"]
    del wording["codes"]["4"]
    del wording["items"]["ehp30_q07"]
    del wording["items"]["ehp30_infertility_applies"]
    wording["items"]["ehp30_q31"] = {"text": "Extra"}
    wording["items"]["ehp30_q01"] = {"text": "Fine", "note": "x"}
    wording["scales"]["mood"] = {"label": "Mood"}
    wording["colour"] = "red"
    assert sorted(wording_check(ehp30, wording)) == sorted(
        [
            "wording: unknown field 'colour'",
            "wording: missing field 'stem'",
            "wording: is for 'ehp5', not 'ehp30'",
            "codes: 4 labels for 5 codes (0, 1, 2, 3, 4); missing 4",
            "items.ehp30_q01: unknown field 'note'",
            "items.ehp30_q07: missing text",
            "items.ehp30_infertility_applies: missing text",
            "items.ehp30_q31: unknown item",
            "scales.mood: unknown scale",
        ]
    )


def test_instrument_with_wording_refuses_a_mismatch_or_an_unusable_version(
    ehp30: Instrument,
) -> None:
    bad = _wording(ehp30)
    del bad["items"]["ehp30_q07"]
    with pytest.raises(DefinitionError) as raised:
        instrument_with_wording(ehp30, bad, version="1.0", language="fr")
    assert raised.value.errors == [
        "items.ehp30_q07: missing text",
        "version: '1.0' is the structure's own version, choose a new one",
        "language: file says 'en-GB', given 'fr'",
    ]
    with pytest.raises(DefinitionError, match="version: 'a version that is far too long'"):
        instrument_with_wording(
            ehp30, _wording(ehp30), version="a version that is far too long", language="en-GB"
        )
