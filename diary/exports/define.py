"""define.xml (Define-XML 2.1) of a study's SDTM datasets, built with odmlib.

Pure: no Django import, no clock (the creation time is an argument). Everything it says is
read from the datasets' variables (diary.exports.sdtm.domains), the instruments' SDTM
mappings (scoring/instruments/*.sdtm.toml) and the trial design rows, so define.xml and the
files it describes cannot disagree.

Every coded variable has a codelist (CodeList, with decodes where SDTM pairs a code with its
name: QSTESTCD / QSTEST, ARMCD / ARM, ETCD / ELEMENT); the answers' results (QSORRES,
FAORRES) have value-level metadata, one codelist per answer scale (the labels of its codes:
Never ... Always, No / Yes) or a number (scores, the VAS in mm). The sponsor-defined test
codes are declared as such (def:ExtendedValue is not used: these codelists are the
sponsor's, not CDISC's).

Only the project's own words go into it: the test codes and names of the mappings, the
instruments' titles and their answer labels. Item wording is never read, neither the
repository's demo labels nor a deployment's licensed text (which lives in the database, where
this module does not look).

A blinded define.xml describes the blinded files: one arm (BLINDED) whose elements are the
treatment blocks, no treatment, no sequence; it is the same whatever the allocation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import odmlib.define_2_1.model as DEFINE

from diary.exports.sdtm.domains import (
    DATASET_NAMES,
    NOT_ASSIGNED,
    NOT_DONE,
    REASONS_NOT_DONE,
    Dataset,
    Var,
    visit_name,
)
from scoring.sdtm_mapping import Mapping

DEFINE_VERSION = "2.1.0"
SDTMIG = ("STD.SDTMIG", "SDTMIG", "3.4")
_DATA_TYPES = {"text": "text", "integer": "integer", "float": "float", "date": "date",
               "datetime": "datetime"}  # fmt: skip


@dataclass(frozen=True)
class DefineInput:
    """What define.xml describes, collected by the caller (diary.services.sdtm)."""

    study_code: str
    study_name: str
    blinded: bool
    datasets: Sequence[Dataset]
    mappings: Sequence[tuple[Mapping, tuple[str, ...]]]
    arms: Sequence[tuple[str, str]]  # (ARMCD, ARM)
    elements: Sequence[tuple[str, str]]  # (ETCD, ELEMENT)
    epochs: Sequence[str]
    periods: int
    sites: Sequence[str]
    file_extension: str  # of the dataset files def:leaf points at (xpt, json, csv)
    source_version: str


def _text(value: str) -> DEFINE.TranslatedText:
    return DEFINE.TranslatedText(_content=value, lang="en")


def _description(value: str) -> DEFINE.Description:
    return DEFINE.Description(TranslatedText=[_text(value)])


def codelists(spec: DefineInput) -> dict[str, tuple[str, list[tuple[str, str | None]]]]:
    """Each codelist by key: (data type, [(coded value, decode or None)]), in file order."""
    lists: dict[str, tuple[str, list[tuple[str, str | None]]]] = {
        "DOMAIN": ("text", [(name, None) for name in DATASET_NAMES]),
        "EPOCH": ("text", [(epoch, None) for epoch in spec.epochs]),
        "VISITNUM": ("integer", [(str(n), visit_name(n)) for n in range(1, spec.periods + 1)]),
        "VISIT": ("text", [(visit_name(n), None) for n in range(1, spec.periods + 1)]),
        "SITEID": ("text", [(site, None) for site in spec.sites]),
        "ARMCD": ("text", [(code, arm) for code, arm in spec.arms]),
        "ARM": ("text", [(arm, None) for _, arm in spec.arms]),
        "ARMNRS": ("text", [(NOT_ASSIGNED, None)]),
        "ETCD": ("text", [(code, element) for code, element in spec.elements]
                 + ([] if spec.blinded else [("UNPLAN", "Unplanned Element")])),
        "ELEMENT": ("text", [(element, None) for _, element in spec.elements]),
        "NY": ("text", [("N", "No"), ("Y", "Yes")]),
        "ND": ("text", [(NOT_DONE, None)]),
        "REASND": ("text", [(reason, None) for reason in REASONS_NOT_DONE]),
    }  # fmt: skip
    for domain in ("QS", "FA"):
        for key in ("TESTCD", "TEST", "CAT", "SCAT", "OBJ", "EVLINT", "EVINTX"):
            lists[f"{domain}{key}"] = ("text", [])
    lists["METHOD"], lists["UNIT"] = ("text", []), ("text", [])
    for mapping, modules in spec.mappings:
        domain = mapping.domain
        items, scores = mapping.tests_for(modules)
        for test in (*items, *scores):
            lists[f"{domain}TESTCD"][1].append((test.testcd, test.test))
            lists[f"{domain}TEST"][1].append((test.test, None))
            _add(lists[f"{domain}SCAT"][1], test.subcategory)
        _add(lists[f"{domain}CAT"][1], mapping.category)
        _add(lists[f"{domain}OBJ"][1], mapping.object)
        _add(lists[f"{domain}EVLINT"][1], mapping.evlint)
        _add(lists[f"{domain}EVINTX"][1], mapping.evintx)
        _add(lists["METHOD"][1], mapping.method)
        _add(lists["UNIT"][1], mapping.unit)
    return lists


def _add(values: list[tuple[str, str | None]], value: str) -> None:
    if value and (value, None) not in values:
        values.append((value, None))


def answer_scales(spec: DefineInput, domain: str) -> list[tuple[str, list[str], list[str]]]:
    """The value-level metadata of --ORRES: (group key, test codes, answer labels); labels
    empty for a number (a score, a measurement)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    numbers: list[str] = []
    for mapping, modules in spec.mappings:
        if mapping.domain != domain:
            continue
        items, scores = mapping.tests_for(modules)
        for test in items:
            item = mapping.instrument.item(test.key)
            if item.kind == "integer":
                numbers.append(test.testcd)
            else:
                groups.setdefault(tuple(code.label for code in item.codes), []).append(test.testcd)
        numbers += [score.testcd for score in scores]
    out = [(f"A{n}", codes, list(labels)) for n, (labels, codes) in enumerate(groups.items(), 1)]
    if numbers:
        out.append(("NUM", numbers, []))
    return out


def _item_def(oid: str, var: Var, *, codelist: str = "", value_list: str = "") -> DEFINE.ItemDef:
    fields = {"OID": oid, "Name": var.name, "DataType": _DATA_TYPES[var.type],
              "Description": _description(var.label),
              "Origin": [DEFINE.Origin(Type=var.origin)]}  # fmt: skip
    if var.type in ("text", "integer", "float"):
        fields["Length"] = var.length
    if var.type == "float":
        fields["SignificantDigits"] = 4
    if codelist:
        fields["CodeListRef"] = DEFINE.CodeListRef(CodeListOID=codelist)
    if value_list:
        fields["ValueListRef"] = DEFINE.ValueListRef(ValueListOID=value_list)
    return DEFINE.ItemDef(**fields)


def define_xml(spec: DefineInput, *, now: datetime) -> bytes:
    """define.xml for `spec`, as UTF-8 bytes with an XML declaration."""
    suffix = "BLINDED" if spec.blinded else "UNBLINDED"
    lists = codelists(spec)
    used: set[str] = set()
    mdv = DEFINE.MetaDataVersion(
        OID=f"MDV.{spec.study_code}.SDTM.{suffix}",
        Name=f"{spec.study_code} SDTM ({suffix.lower()})",
        Description=f"SDTMIG 3.4 datasets of study {spec.study_code}, {suffix.lower()}; "
        "instants are UTC",
        DefineVersion=DEFINE_VERSION,
        Standards=DEFINE.Standards(Standard=[DEFINE.Standard(
            OID=SDTMIG[0], Name=SDTMIG[1], Type="IG", Version=SDTMIG[2], Status="Final")]),
    )  # fmt: skip
    for dataset in spec.datasets:
        refs, keys = [], {name: n for n, name in enumerate(dataset.keys, start=1)}
        for order, var in enumerate(dataset.variables, start=1):
            oid = f"IT.{dataset.name}.{var.name}"
            value_list = ""
            if var.name in ("QSORRES", "FAORRES") and answer_scales(spec, dataset.name):
                value_list = f"VL.{dataset.name}.{var.name}"
                _value_level(mdv, spec, dataset.name, var, value_list)
            codelist = ""
            if var.codelist and lists.get(var.codelist, ("", []))[1]:
                codelist = f"CL.{var.codelist}"
                used.add(var.codelist)
            mdv.ItemDef.append(_item_def(oid, var, codelist=codelist, value_list=value_list))
            ref = {"ItemOID": oid, "OrderNumber": order,
                   "Mandatory": "Yes" if var.mandatory else "No"}  # fmt: skip
            if var.name in keys:
                ref["KeySequence"] = keys[var.name]
            if var.role:
                ref["Role"] = var.role
            refs.append(DEFINE.ItemRef(**ref))
        leaf = f"LF.{dataset.name}"
        href = f"{dataset.name.lower()}.{spec.file_extension}"
        mdv.ItemGroupDef.append(DEFINE.ItemGroupDef(
            OID=f"IG.{dataset.name}", Name=dataset.name, SASDatasetName=dataset.name,
            Domain=dataset.name, Repeating="Yes" if dataset.name != "DM" else "No",
            IsReferenceData="Yes" if dataset.klass == "TRIAL DESIGN" else "No",
            Purpose="Tabulation", Structure=dataset.structure, ArchiveLocationID=leaf,
            StandardOID=SDTMIG[0], Description=_description(dataset.label), ItemRef=refs,
            Class=DEFINE.Class(Name=dataset.klass),
            leaf=DEFINE.leaf(ID=leaf, href=href, title=DEFINE.title(_content=href)),
        ))  # fmt: skip
    for key in sorted(used):
        data_type, values = lists[key]
        decoded = any(decode is not None for _, decode in values)
        codelist = DEFINE.CodeList(OID=f"CL.{key}", Name=key, DataType=data_type)
        for order, (value, decode) in enumerate(values, start=1):
            if decoded:
                codelist.CodeListItem.append(DEFINE.CodeListItem(
                    CodedValue=value, OrderNumber=order,
                    Decode=DEFINE.Decode(TranslatedText=[_text(decode or value)])))  # fmt: skip
            else:
                codelist.EnumeratedItem.append(
                    DEFINE.EnumeratedItem(CodedValue=value, OrderNumber=order)
                )
        mdv.CodeList.append(codelist)
    odm = DEFINE.ODM(
        FileOID=f"DEF.{spec.study_code}.SDTM.{suffix}",
        FileType="Snapshot",
        CreationDateTime=now.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        ODMVersion="1.3.2",
        Originator="epro-diary",
        SourceSystem="epro-diary",
        SourceSystemVersion=spec.source_version,
        Context="Other",
        Study=DEFINE.Study(
            OID=f"ST.{spec.study_code}",
            GlobalVariables=DEFINE.GlobalVariables(
                StudyName=DEFINE.StudyName(_content=spec.study_code),
                StudyDescription=DEFINE.StudyDescription(_content=spec.study_name),
                ProtocolName=DEFINE.ProtocolName(_content=spec.study_code),
            ),
            MetaDataVersion=mdv,
        ),
    )
    return odm.to_xml_string(xml_declaration=True).encode("utf-8")


def _value_level(
    mdv: DEFINE.MetaDataVersion, spec: DefineInput, domain: str, var: Var, oid: str
) -> None:
    """One ItemDef per answer scale of --ORRES, selected by the test codes that use it."""
    refs = []
    for order, (group, codes, labels) in enumerate(answer_scales(spec, domain), start=1):
        where = f"WC.{domain}.{var.name}.{group}"
        mdv.WhereClauseDef.append(DEFINE.WhereClauseDef(OID=where, RangeCheck=[DEFINE.RangeCheck(
            Comparator="IN", SoftHard="Soft", ItemOID=f"IT.{domain}.{domain}TESTCD",
            CheckValue=[DEFINE.CheckValue(_content=code) for code in codes])]))  # fmt: skip
        item = f"IT.{domain}.{var.name}.{group}"
        if labels:
            key = f"{domain}ORRES.{group}"
            mdv.CodeList.append(DEFINE.CodeList(
                OID=f"CL.{key}", Name=f"{var.name} answers {group}", DataType="text",
                EnumeratedItem=[DEFINE.EnumeratedItem(CodedValue=label, OrderNumber=n)
                                for n, label in enumerate(labels, start=1)]))  # fmt: skip
            mdv.ItemDef.append(DEFINE.ItemDef(
                OID=item, Name=var.name, DataType="text", Length=max(map(len, labels)),
                Description=_description(f"{var.label}: answer label"),
                CodeListRef=DEFINE.CodeListRef(CodeListOID=f"CL.{key}"),
                Origin=[DEFINE.Origin(Type="Collected")]))  # fmt: skip
        else:
            mdv.ItemDef.append(DEFINE.ItemDef(
                OID=item, Name=var.name, DataType="float", Length=8, SignificantDigits=4,
                Description=_description(f"{var.label}: a score or a measurement"),
                Origin=[DEFINE.Origin(Type="Collected")]))  # fmt: skip
        refs.append(
            DEFINE.ItemRef(
                ItemOID=item,
                OrderNumber=order,
                Mandatory="No",
                WhereClauseRef=[DEFINE.WhereClauseRef(WhereClauseOID=where)],
            )
        )
    if refs:
        mdv.ValueListDef.append(DEFINE.ValueListDef(OID=oid, ItemRef=refs))
