"""The CDISC kinds (sdtm, define) and the file formats of an export, as parts of the one export
code path (diary.services.exports: permission, scope, streaming, audit and manifest are its).

- `sdtm`: the study's SDTM datasets (diary.exports.sdtm), one file each, as CSV (written by
  PostgreSQL), Dataset-JSON v1.1 or SAS XPORT v5.
- `define`: define.xml 2.1 of those datasets (diary.exports.define).
- `--format xpt|sav|dta` of the CSV kinds long, wide, treatment_means and analysis: the same
  SELECT, with variable and value labels from the same columns (diary.exports.columns).

A blinded request reads no allocation: its SQL has no allocation join (a blinded query naming
an allocation output cannot be built) and its trial design names no arm, sequence or
treatment, so its files are the same whatever the allocation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from django.core.exceptions import PermissionDenied

from diary.exports.columns import kind_columns
from diary.exports.define import DefineInput, define_xml
from diary.exports.formats import (
    DATASET_JSON_VERSION,
    EXTENSIONS,
    Variable,
    dataset_json_stream,
    json_rows_read,
    stat_file_stream,
)
from diary.exports.queries import Scope, kind_query
from diary.exports.sdtm.domains import DATASETS, Dataset
from diary.exports.sdtm.queries import QUERIES, TRIAL_DESIGN, design_rows, study_mappings
from diary.exports.writer import ExportFile, copy_csv, rows_csv
from diary.models import Study
from diary.rules.local_time import utc_iso
from diary.selectors.questionnaire import instruments_collected

# Which formats each kind can be written in; the first is its default.
KIND_FORMATS = {
    "sdtm": ("csv", "json", "xpt"),
    "define": ("xml",),
    "odm": ("xml",),
    "long": ("csv", "xpt", "sav", "dta"),
    "wide": ("csv", "xpt", "sav", "dta"),
    "treatment_means": ("csv", "xpt", "sav", "dta"),
    "analysis": ("csv", "xpt", "sav", "dta"),
    "dictionary": ("csv",),
    "flow": ("csv",),
}
REQUEST_FORMATS = ("csv", "json", "xpt", "sav", "dta")
_TABLE_NAMES = {"long": "LONG", "wide": "WIDE", "treatment_means": "TRTMEANS",
                "analysis": "ANALYSIS"}  # fmt: skip
_TYPES = {"text": "string", "integer": "integer", "float": "decimal", "date": "date",
          "datetime": "datetime"}  # fmt: skip


def source_version() -> str:
    try:
        return version("epro-diary")
    except PackageNotFoundError:
        return "unknown"


def formats_check(*, kinds: tuple[str, ...], fmt: str) -> None:
    """PermissionDenied (the export's refusal) when no asked kind can be written in `fmt`;
    a kind that cannot keeps its own format (the dictionary stays CSV in a SAV bundle)."""
    if fmt not in REQUEST_FORMATS:
        raise PermissionDenied(f"Unknown file format: {fmt}.")
    if fmt != "csv" and not any(fmt in KIND_FORMATS.get(kind, ()) for kind in kinds):
        able = sorted({k for k, formats in KIND_FORMATS.items() if fmt in formats})
        raise PermissionDenied(
            f"The {fmt} format is for these kinds: {', '.join(able)}; none was asked for."
        )


def kind_format(kind: str, fmt: str) -> str:
    formats = KIND_FORMATS[kind]
    return fmt if fmt in formats else formats[0]


def _variables(dataset: Dataset) -> list[Variable]:
    keys = {name: n for n, name in enumerate(dataset.keys, start=1)}
    return [
        Variable(v.name, v.label, _TYPES[v.type], v.length, (), f"IT.{dataset.name}.{v.name}",
                 keys.get(v.name, 0), iso_text=True)
        for v in dataset.variables
    ]  # fmt: skip


def _suffix(blinded: bool) -> str:
    return "BLINDED" if blinded else "UNBLINDED"


def _dataset_part(
    dataset: Dataset, study: Study, scope: Scope, *, blinded: bool, fmt: str, now: datetime
) -> tuple[ExportFile, Iterator[bytes]]:
    out = ExportFile(f"{dataset.name.lower()}.{EXTENSIONS[fmt]}")
    if dataset.name in TRIAL_DESIGN:
        design = design_rows(study, blinded=blinded)
        rows = list(design.ta_rows if dataset.name == "TA" else design.te_rows)
        sql = None
    else:
        sql, params = QUERIES[dataset.name](study, scope, blinded=blinded)
    if fmt == "csv":
        header = [v.name for v in dataset.variables]
        if sql is None:
            return out, rows_csv(header, [[_cell(c) for c in row] for row in rows], out)
        return out, copy_csv(sql, params, out)
    variables = _variables(dataset)
    if fmt == "json":
        source = {"rows": rows} if sql is None else {"encoded": json_rows_read(sql, params,
                                                                             variables)}
        head = {
            "datasetJSONCreationDateTime": utc_iso(now),
            "datasetJSONVersion": DATASET_JSON_VERSION,
            "fileOID": f"{study.code}.SDTM.{_suffix(blinded)}.{dataset.name}",
            "originator": "epro-diary",
            "sourceSystem": {"name": "epro-diary", "version": source_version()},
            "studyOID": f"ST.{study.code}",
            "metaDataVersionOID": f"MDV.{study.code}.SDTM.{_suffix(blinded)}",
            "metaDataRef": "define.xml",
            "itemGroupOID": f"IG.{dataset.name}",
            "isReferenceData": dataset.klass == "TRIAL DESIGN",
            "name": dataset.name,
            "label": dataset.label,
        }
        return out, dataset_json_stream(head=head, variables=variables, **source, out=out)
    source = {"rows": rows} if sql is None else {"query": (sql, params)}
    chunks, renamed = stat_file_stream(
        fmt, variables=variables, **source, out=out, table_name=dataset.name,
        file_label=dataset.label, now=now,
    )  # fmt: skip
    out.renamed = renamed
    return out, chunks


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def sdtm_parts(
    *, study: Study, scope: Scope, blinded: bool, fmt: str, now: datetime
) -> list[tuple[ExportFile, Iterator[bytes]]]:
    """One file per SDTM dataset, in SDTMIG order (DM, TA, TE, SE, SV, QS, FA)."""
    return [
        _dataset_part(dataset, study, scope, blinded=blinded, fmt=fmt, now=now)
        for dataset in DATASETS
    ]


def define_part(
    *, study: Study, scope: Scope, blinded: bool, dataset_format: str, now: datetime
) -> tuple[ExportFile, Iterator[bytes]]:
    """define.xml of the SDTM datasets this request's scope and blinding give; its def:leaf
    elements name the dataset files in `dataset_format`."""
    design = design_rows(study, blinded=blinded)
    sites = study.sites.order_by("code")
    if scope.site_ids is not None:
        sites = sites.filter(pk__in=scope.site_ids)
    spec = DefineInput(
        study_code=study.code,
        study_name=study.name,
        blinded=blinded,
        datasets=DATASETS,
        mappings=study_mappings(study),
        arms=design.arms,
        elements=design.elements,
        epochs=design.epochs,
        periods=study.number_of_periods,
        sites=[site.code for site in sites],
        file_extension=EXTENSIONS[dataset_format],
        source_version=source_version(),
    )
    out = ExportFile("define.xml")

    def chunks() -> Iterator[bytes]:
        yield out.feed(define_xml(spec, now=now))
        out.finish(len(spec.datasets))

    return out, chunks()


def stat_part(
    kind: str, *, study: Study, scope: Scope, blinded: bool, fmt: str, name: str, now: datetime
) -> tuple[ExportFile, Iterator[bytes]]:
    """A CSV kind's file in XPT, SAV or DTA: the same SELECT, labelled from its columns."""
    columns = kind_columns(kind, instruments_collected(study=study), blinded=blinded)
    variables = [Variable(c.name, c.label, c.type, codes=c.codes) for c in columns]
    sql, params = kind_query(kind, study, scope, blinded=blinded)
    out = ExportFile(name)
    chunks, renamed = stat_file_stream(fmt, variables=variables, query=(sql, params), out=out,
                                       table_name=_TABLE_NAMES[kind],
                                       file_label=f"{study.code} {kind}", now=now)  # fmt: skip
    out.renamed = renamed
    return out, chunks
