"""define.xml 2.1 of the SDTM datasets: valid against the Define-XML 2.1 schema, a codelist
for every coded variable that holds every value of the files, and only the project's words."""

from __future__ import annotations

import io
from importlib.resources import files as package_files

import pandas as pd
import pytest
from lxml import etree

from diary.exports.sdtm.domains import DATASETS
from diary.models import Response
from scoring.definitions import instrument_get
from scoring.services import scoring_sweep
from tests.conftest import make_participant
from tests.diary.exports.conftest import ehp30_answers, submit_period
from tests.diary.exports.test_export_sdtm import export_files
from tests.scoring.test_load_instrument_text import load, wording_toml

pytestmark = pytest.mark.django_db

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
# The Define-XML 2.1 schema as CDISC publishes it, shipped in the defineutils wheel.
XSD = package_files("defineutils") / "validate" / "schema" / "cdisc-define-2.1" / "define2-1-0.xsd"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture
def scored(submitted):
    submitted.study.instrument_modules = {"ehp30": ["ehp30_work"]}
    submitted.study.save(update_fields=["instrument_modules"])
    scoring_sweep()
    return submitted


def define_of(world, *, blinded: bool, user=None) -> tuple[etree._Element, dict[str, bytes]]:
    files = export_files(user or world.statistician, world.study, kinds=("sdtm", "define"),
                         blinded=blinded)  # fmt: skip
    return etree.fromstring(files["define.xml"]), files


@pytest.mark.parametrize("blinded", [True, False])
def test_define_xml_is_valid_define_2_1(scored, schema, blinded):
    root, _ = define_of(scored, blinded=blinded)
    assert schema.validate(root), schema.error_log.filter_from_errors()
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    assert mdv.get(f"{{{NS['def']}}}DefineVersion") == "2.1.0"
    groups = [g.get("Name") for g in mdv.findall("odm:ItemGroupDef", NS)]
    assert groups == [d.name for d in DATASETS]
    leaf = mdv.find("odm:ItemGroupDef[@Name='QS']/def:leaf", NS)
    assert leaf.get("{http://www.w3.org/1999/xlink}href") == "qs.csv"


def _codelists(mdv) -> dict[str, set[str]]:
    out = {}
    for codelist in mdv.findall("odm:CodeList", NS):
        items = codelist.findall("odm:CodeListItem", NS) + codelist.findall(
            "odm:EnumeratedItem", NS
        )
        out[codelist.get("OID")] = {item.get("CodedValue") for item in items}
    return out


@pytest.mark.parametrize("blinded", [True, False])
def test_every_coded_variable_has_a_codelist_holding_every_value_of_its_file(scored, blinded):
    root, files = define_of(scored, blinded=blinded)
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    codelists = _codelists(mdv)
    checked = 0
    for dataset in DATASETS:
        data = pd.read_csv(io.BytesIO(files[f"{dataset.name.lower()}.csv"]), dtype=str,
                           keep_default_na=False)  # fmt: skip
        for var in dataset.variables:
            if not var.codelist:
                continue
            item = mdv.find(f"odm:ItemDef[@OID='IT.{dataset.name}.{var.name}']", NS)
            ref = item.find("odm:CodeListRef", NS)
            values = set(data[var.name]) - {""}
            if ref is None:
                assert not values, f"{dataset.name}.{var.name} has values but no codelist"
                continue
            assert values <= codelists[ref.get("CodeListOID")], f"{dataset.name}.{var.name}"
            checked += bool(values)
    assert checked >= 25


def test_the_answers_have_value_level_codelists_by_test_code(scored):
    root, files = define_of(scored, blinded=True)
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    codelists = _codelists(mdv)
    qs = pd.read_csv(io.BytesIO(files["qs.csv"]), dtype=str, keep_default_na=False)
    allowed: dict[str, set[str] | None] = {}
    for ref in mdv.findall("def:ValueListDef[@OID='VL.QS.QSORRES']/odm:ItemRef", NS):
        where = ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")
        clause = mdv.find(f"def:WhereClauseDef[@OID='{where}']/odm:RangeCheck", NS)
        item = mdv.find(f"odm:ItemDef[@OID='{ref.get('ItemOID')}']", NS)
        codes = item.find("odm:CodeListRef", NS)
        for value in clause.findall("odm:CheckValue", NS):
            allowed[value.text] = None if codes is None else codelists[codes.get("CodeListOID")]
    assert set(qs.QSTESTCD) <= set(allowed)
    assert allowed["EHP3001"] == {"Never", "Rarely", "Sometimes", "Often", "Always"}
    assert allowed["EHP30WG"] == {"No", "Yes"}
    assert allowed["EHP30PN"] is None  # a score: a number
    for testcd, value in zip(qs.QSTESTCD, qs.QSORRES, strict=True):
        if value and allowed[testcd] is not None:
            assert value in allowed[testcd]


def test_the_blinded_define_names_no_treatment_and_the_unblinded_one_does(scored):
    blinded, _ = define_of(scored, blinded=True, user=scored.monitor)
    text = etree.tostring(blinded).decode()
    assert "Anakinra" not in text and "Placebo" not in text
    assert 'CodedValue="AP"' not in text and 'CodedValue="BLINDED"' in text
    unblinded, _ = define_of(scored, blinded=False)
    text = etree.tostring(unblinded).decode()
    assert "Anakinra 100 mg / Placebo" in text and 'CodedValue="PA"' in text


def test_no_item_wording_reaches_define_or_the_datasets_demo_or_licensed(submitted, tmp_path):
    """The licensed wording loaded for the deployment's language, and a response given in it:
    neither its items, its answer labels, its stem, nor the repository's demo labels appear
    in any SDTM file or define.xml; only the project's own test names and answer labels."""
    path = tmp_path / "ehp30-oui-en.toml"
    path.write_text(wording_toml(language="en"))
    load(path, "--version", "1.0-oui", "--language", "en")
    licensed = make_participant(submitted.study, submitted.site1, "S01-007",
                                sequence=submitted.ap)  # fmt: skip
    submit_period(licensed, number=1, answers=ehp30_answers(4), vas=80, days_ago=1)
    assert Response.objects.filter(instrument_version="1.0-oui").exists()
    scoring_sweep()
    ehp30, vas = instrument_get("ehp30", "1.0"), instrument_get("vas_dysmenorrhea", "1.0")
    for blinded in (True, False):
        _, files = define_of(submitted, blinded=blinded)
        text = b"\n".join(content for name, content in files.items()).decode()
        assert "Licensed" not in text  # item texts, code labels, title and stem of 1.0-oui
        assert "[Demo]" not in text and ehp30.stem not in text
        for item in (*ehp30.items, *vas.items):
            assert item.label not in text, item.key
        assert "Always" in text  # the structure's own answer label of code 4
