"""The SDTM mappings shipped beside the instrument definitions: complete, within the SDTM
limits, and a mapping that does not fit its definition is refused with every problem."""

from __future__ import annotations

import pytest

from scoring.definitions import DefinitionError, instrument_get, instruments_available
from scoring.sdtm_mapping import mapping_get, mapping_parse, mapping_path


def test_every_shipped_instrument_version_has_a_mapping_that_fits_it():
    for instrument in instruments_available():
        mapping = mapping_get(instrument.key, instrument.version)
        assert {t.key for t in mapping.items} == {i.key for i in instrument.items}
        scored = {s.key for s in instrument.scales if s.method != "value"}
        assert {t.key for t in mapping.scores} == scored


def test_the_mapping_files_are_not_taken_for_instrument_definitions():
    assert {(i.key, i.version) for i in instruments_available()} == {
        ("ehp30", "1.0"),
        ("vas_dysmenorrhea", "1.0"),
    }
    assert mapping_path(instrument_get("ehp30", "1.0")).name == "ehp30-1.0.sdtm.toml"


def test_the_ehp30_goes_to_qs_with_its_recall_period_and_scales():
    mapping = mapping_get("ehp30", "1.0")
    assert (mapping.domain, mapping.category, mapping.evlint) == ("QS", "EHP-30", "-P4W")
    first = mapping.item("ehp30_q01")
    assert (first.testcd, first.test, first.subcategory) == ("EHP3001", "EHP30-Item 01", "PAIN")
    work = mapping.item("ehp30_work_q1")
    assert (work.subcategory, work.gate) == ("WORK", "ehp30_work_applies")
    assert mapping.item("ehp30_work_applies").gate == ""
    pain = next(score for score in mapping.scores if score.key == "pain")
    assert (pain.testcd, pain.derived) == ("EHP30PN", True)


def test_the_vas_is_a_finding_about_with_method_and_unit():
    mapping = mapping_get("vas_dysmenorrhea", "1.0")
    assert (mapping.domain, mapping.object, mapping.method, mapping.unit) == (
        "FA", "DYSMENORRHEA", "VISUAL ANALOG SCALE", "mm"
    )  # fmt: skip
    assert mapping.scores == ()  # its scale is the item itself


def test_test_codes_and_names_keep_the_sdtm_limits_and_are_unique():
    for instrument in instruments_available():
        mapping = mapping_get(instrument.key, instrument.version)
        tests = [*mapping.items, *mapping.scores]
        assert all(len(t.testcd) <= 8 and not t.testcd[0].isdigit() for t in tests)
        assert all(len(t.test) <= 40 for t in tests)
        assert len({t.testcd for t in tests}) == len({t.test for t in tests}) == len(tests)


def test_no_item_wording_is_in_a_mapping():
    ehp30 = instrument_get("ehp30", "1.0")
    text = mapping_path(ehp30).read_text()
    for item in ehp30.items:
        assert item.label not in text
    assert "[Demo]" not in text


VAS_MAPPING = """
domain = "FA"
category = "X"
[[items]]
item = "vas_dysmenorrhea"
testcd = "VASPAIN"
test = "Pain"
"""


def test_a_mapping_that_does_not_fit_is_refused_with_every_problem():
    vas = instrument_get("vas_dysmenorrhea", "1.0")
    assert mapping_parse(VAS_MAPPING, vas).items[0].testcd == "VASPAIN"
    bad = (
        'evlint = "four weeks"\n'
        + VAS_MAPPING.replace('"FA"', '"XX"').replace('"VASPAIN"', '"9TOOLONGCODE"')
        + '\n[[items]]\nitem = "nope"\ntestcd = "A"\ntest = "B"\n'
    )
    with pytest.raises(DefinitionError) as caught:
        mapping_parse(bad, vas)
    errors = "\n".join(caught.value.errors)
    assert "domain: 'XX' is not one of QS, FA" in errors
    assert "test code '9TOOLONGCODE'" in errors
    assert "vas_dysmenorrhea has no item 'nope'" in errors
    assert "not an ISO 8601 duration" in errors


def test_an_unmapped_item_and_a_scale_without_its_score_are_refused():
    ehp30 = instrument_get("ehp30", "1.0")
    text = mapping_path(ehp30).read_text()
    q30 = '[[items]]\nitem = "ehp30_q30"\ntestcd = "EHP3030"\ntest = "EHP30-Item 30"\n'
    assert q30 in text
    text = text.replace(q30, "")
    text = text.replace('scale = "pain"', 'scale = "painx"')
    with pytest.raises(DefinitionError) as caught:
        mapping_parse(text, ehp30)
    assert "items: ehp30_q30 is not mapped" in caught.value.errors
    assert "scales: pain has no derived record" in caught.value.errors
