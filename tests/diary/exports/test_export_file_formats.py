"""Dataset-JSON v1.1, SAS XPORT v5, SPSS and Stata files, each read back with a reader that
is not the writer (jsonschema + json, pandas.read_sas, pyreadstat), and compared value for
value with the CSV of the same export."""

from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pyreadstat
import pytest

from diary.exports.columns import kind_columns
from diary.exports.formats import (
    _ROW_JSON,
    Variable,
    dataset_json_stream,
    json_rows_read,
    rows_read,
    stat_file_stream,
    xpt_names,
)
from diary.exports.queries import Scope, kind_query
from diary.exports.sdtm.domains import DATASETS
from diary.exports.sdtm.queries import QUERIES
from diary.exports.writer import ExportFile
from diary.selectors.questionnaire import instruments_collected
from diary.services.export_formats import _variables
from diary.services.exports import ExportRequest, export_start
from scoring.services import scoring_sweep
from tests.diary.exports.test_export_sdtm import NOW, export_files

pytestmark = pytest.mark.django_db

# Vendored from CDISC's published model; its source is cited in the file's $comment.
SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "dataset-json-1.1.schema.json").read_text()
)


@pytest.fixture
def scored(submitted):
    scoring_sweep()
    return submitted


def csv_frame(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)


def read_with(reader, content: bytes, suffix: str):
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(content)
        handle.flush()
        return reader(handle.name)


def as_text(value) -> str:
    """A value as the CSV writes it: numbers without a needless .0, missing as empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xpt_read(content: bytes) -> pd.DataFrame:
    """An XPT file as pandas reads it, checked against ReadStat's reading.

    pandas.read_sas takes every 8-byte group of blanks in the file's last 80-byte record for
    padding (pandas/io/sas/sas_xport.py, _record_count), so when the last observation ends in
    blank character values it drops that observation. The rows pandas reads must be the first
    rows ReadStat reads, and ReadStat's are then compared in full. pandas also reads the IBM
    zero (eight zero bytes, as SAS writes it) as 16**-65 = 5.4e-79, the smallest IBM number,
    which is taken back to 0 here."""
    by_pandas = pd.read_sas(io.BytesIO(content), format="xport", encoding="utf-8")
    for name in by_pandas.columns:
        if pd.api.types.is_float_dtype(by_pandas[name]):
            by_pandas[name] = by_pandas[name].mask(by_pandas[name].abs() == 16.0**-65, 0.0)
    by_readstat, _ = read_with(pyreadstat.read_xport, content, ".xpt")
    assert list(by_pandas.columns) == list(by_readstat.columns)
    assert len(by_readstat) - len(by_pandas) in (0, 1)
    head = by_readstat.head(len(by_pandas)).reset_index(drop=True)
    left = [[as_text(v) for v in row] for row in by_pandas.itertuples(index=False)]
    right = [[as_text(v) for v in row] for row in head.itertuples(index=False)]
    assert left == right
    return by_readstat


def test_dataset_json_files_validate_against_the_schema_and_hold_the_csv_values(scored):
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    as_csv = export_files(scored.statistician, scored.study, blinded=False)
    as_json = export_files(scored.statistician, scored.study, blinded=False, fmt="json")
    for dataset in DATASETS:
        document = json.loads(as_json[f"{dataset.name.lower()}.json"])
        errors = sorted(validator.iter_errors(document), key=str)
        assert not errors, (dataset.name, [e.message for e in errors[:3]])
        assert document["datasetJSONVersion"] == "1.1.0"
        assert document["itemGroupOID"] == f"IG.{dataset.name}"
        assert document["datasetJSONCreationDateTime"] == "2030-01-02T03:04:05Z"
        assert [c["name"] for c in document["columns"]] == [v.name for v in dataset.variables]
        assert [c["label"] for c in document["columns"]] == [v.label for v in dataset.variables]
        expected = csv_frame(as_csv[f"{dataset.name.lower()}.csv"])
        assert document["records"] == len(document["rows"]) == len(expected)
        got = [[as_text(v) for v in row] for row in document["rows"]]
        assert got == expected.values.tolist(), dataset.name
    qs = json.loads(as_json["qs.json"])
    types = {c["name"]: c["dataType"] for c in qs["columns"]}
    assert (types["QSSTRESN"], types["QSSEQ"], types["QSDTC"]) == ("double", "integer", "datetime")
    stresn = [c["name"] for c in qs["columns"]].index("QSSTRESN")
    assert {type(row[stresn]) for row in qs["rows"]} == {float, type(None)}


def test_sdtm_xpt_files_are_v5_and_read_back_by_pandas(scored):
    as_csv = export_files(scored.statistician, scored.study, blinded=False)
    as_xpt = export_files(scored.statistician, scored.study, blinded=False, fmt="xpt")
    for dataset in DATASETS:
        content = as_xpt[f"{dataset.name.lower()}.xpt"]
        assert content.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")  # v5
        assert b"LIBV8" not in content[:400]
        frame = xpt_read(content)
        assert list(frame.columns) == [v.name for v in dataset.variables]
        expected = csv_frame(as_csv[f"{dataset.name.lower()}.csv"])
        got = [[as_text(v) for v in row] for row in frame.itertuples(index=False)]
        assert got == expected.values.tolist(), dataset.name
        _, meta = read_with(pyreadstat.read_xport, content, ".xpt")
        assert meta.table_name == dataset.name and meta.file_label == dataset.label
        assert meta.column_labels == [v.label for v in dataset.variables]
        assert all(len(name) <= 8 for name in meta.column_names)
        assert all(len(label) <= 40 for label in meta.column_labels)
        assert all(width <= 200 for width in meta.variable_storage_width.values())
        numeric = {v.name for v in dataset.variables if v.type in ("integer", "float")}
        assert {n for n, t in meta.readstat_variable_types.items() if t == "double"} == numeric
    header = as_xpt["qs.xpt"][:800]
    assert b"02JAN30:03:04:05" in header  # the export's time, not the moment of writing


KINDS = [("long", True), ("wide", True), ("wide", False), ("analysis", False),
         ("treatment_means", False)]  # fmt: skip


def download(user, study, kind: str, *, blinded: bool, fmt: str) -> bytes:
    export = export_start(
        user=user,
        request=ExportRequest(study=study, kinds=(kind,), blinded=blinded, format=fmt),
        now=NOW,
    )
    return b"".join(export.chunks)


def normalise(frame: pd.DataFrame, columns) -> list[list[str]]:
    """Cells as the CSV writes them: dates ISO, instants ISO with a Z, numbers plain."""
    out = []
    for row in frame.itertuples(index=False):
        cells = []
        for value, column in zip(row, columns, strict=True):
            if isinstance(value, pd.Timestamp | np.datetime64) and not pd.isna(value):
                value = pd.Timestamp(value)
                value = (value.strftime("%Y-%m-%dT%H:%M:%SZ") if column.type == "datetime"
                         else value.strftime("%Y-%m-%d"))  # fmt: skip
            elif value is pd.NaT:
                value = None
            cells.append(as_text(value))
        out.append(cells)
    return out


def csv_cells(content: bytes, columns) -> list[list[str]]:
    frame = csv_frame(content)
    rows = frame.values.tolist()
    for n, column in enumerate(columns):
        if column.type == "decimal":  # the CSV writes 4 or 20 decimals; files hold the double
            for row in rows:
                row[n] = as_text(float(row[n])) if row[n] else ""
    return rows


@pytest.mark.parametrize(("kind", "blinded"), KINDS)
@pytest.mark.parametrize("fmt", ["sav", "dta", "xpt"])
def test_statistical_files_hold_the_csv_values_with_labels_and_types(scored, kind, blinded, fmt):
    columns = kind_columns(kind, instruments_collected(study=scored.study), blinded=blinded)
    expected = csv_cells(download(scored.statistician, scored.study, kind, blinded=blinded,
                                  fmt="csv"), columns)  # fmt: skip
    content = download(scored.statistician, scored.study, kind, blinded=blinded, fmt=fmt)
    names = [c.name for c in columns]
    if fmt == "xpt":
        names = xpt_names(names)
        frame = xpt_read(content)
        _, meta = read_with(pyreadstat.read_xport, content, ".xpt")
        labels = [c.label[:40].rstrip() for c in columns]
        assert all(len(n) <= 8 for n in meta.column_names)
        assert all(w <= 200 for w in meta.variable_storage_width.values())
    else:
        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        frame, meta = read_with(reader, content, f".{fmt}")
        labels = [c.label[:80].rstrip() if fmt == "dta" else c.label for c in columns]
        coded = {c.name: {float(v): text for v, text in c.codes if isinstance(v, int)}
                 for c in columns if c.type == "integer" and c.codes}  # fmt: skip
        assert meta.variable_value_labels == coded
        for column in columns:
            if column.type in ("date", "datetime") and frame[column.name].notna().any():
                assert pd.api.types.is_datetime64_any_dtype(frame[column.name]), column.name
    assert list(frame.columns) == names
    assert meta.column_labels == labels
    for column, name in zip(columns, names, strict=True):
        if column.type in ("integer", "decimal"):
            assert pd.api.types.is_float_dtype(frame[name]), name
    assert normalise(frame, columns) == expected
    assert len(frame) == len(expected) > 0


def test_wide_spss_file_labels_the_ehp30_codes_and_the_vas_anchors(scored):
    content = download(scored.statistician, scored.study, "wide", blinded=True, fmt="sav")
    frame, meta = read_with(pyreadstat.read_sav, content, ".sav")
    assert meta.variable_value_labels["ehp30_q01"] == {
        0.0: "Never", 1.0: "Rarely", 2.0: "Sometimes", 3.0: "Often", 4.0: "Always"
    }  # fmt: skip
    assert meta.variable_value_labels["vas_dysmenorrhea"] == {
        0.0: "No pain", 100.0: "Worst pain imaginable"
    }  # fmt: skip
    a = frame[(frame.study_id == "S01-001") & (frame.period == 1)].iloc[0]
    assert a.ehp30_q01 == 2 and np.isnan(a.ehp30_q03) and a.vas_dysmenorrhea == 63
    assert "sequence" not in frame.columns and "treatment" not in frame.columns


def test_the_xpt_renaming_is_in_the_manifest(scored):
    export = export_start(
        user=scored.statistician,
        request=ExportRequest(study=scored.study, kinds=("wide", "dictionary"), format="xpt"),
        now=NOW,
    )
    import zipfile

    bundle = zipfile.ZipFile(io.BytesIO(b"".join(export.chunks)))
    manifest = json.loads(bundle.read("manifest.json"))
    entries = {e["name"]: e for e in manifest["files"]}
    assert set(entries) == {"TEST-1_wide_blinded.xpt", "TEST-1_dictionary_blinded.csv"}
    renamed = entries["TEST-1_wide_blinded.xpt"]["renamed"]
    assert renamed["EHP30Q01"] == "ehp30_q01" and renamed["CONTROLP"] == "control_powerlessness"
    assert "renamed" not in entries["TEST-1_dictionary_blinded.csv"]


def xpt_both_ways(variables, sql, params) -> tuple[bytes, bytes]:
    """The XPT file of a query as the export writes it (COPY, read as columns) and as the
    same writer makes it of the rows psycopg gives (a server-side cursor)."""
    made = []
    for source in ({"query": (sql, params)}, {"rows": rows_read(sql, params)}):
        chunks, _ = stat_file_stream(
            "xpt", variables=variables, out=ExportFile("x.xpt"), table_name="X",
            file_label="X", now=datetime(2030, 1, 2, tzinfo=UTC), **source,
        )  # fmt: skip
        made.append(b"".join(chunks))
    return made[0], made[1]


@pytest.mark.parametrize(("kind", "blinded"), [*KINDS, ("long", False)])
def test_an_xpt_file_read_by_copy_is_the_bytes_of_its_rows(scored, kind, blinded):
    """Dates, instants, booleans and numbers come out of COPY as text: the file must be the
    one psycopg's values make, byte for byte (instants to the second, in the same zone)."""
    columns = kind_columns(kind, instruments_collected(study=scored.study), blinded=blinded)
    variables = [Variable(c.name, c.label, c.type, codes=c.codes) for c in columns]
    sql, params = kind_query(kind, scored.study, Scope(study_id=scored.study.pk), blinded=blinded)
    by_copy, by_rows = xpt_both_ways(variables, sql, params)
    assert by_copy == by_rows
    assert len(xpt_read(by_copy)) > 0


def sdtm_queries(study, *, blinded: bool):
    """Each SDTM dataset made by a query, with its variables and the query of the study."""
    for dataset in DATASETS:
        if dataset.name in QUERIES:
            sql, params = QUERIES[dataset.name](study, Scope(study_id=study.pk), blinded=blinded)
            yield dataset, _variables(dataset), sql, params


@pytest.mark.parametrize("blinded", [True, False])
def test_sdtm_xpt_files_read_by_copy_are_the_bytes_of_their_rows(scored, blinded):
    for dataset, variables, sql, params in sdtm_queries(scored.study, blinded=blinded):
        by_copy, by_rows = xpt_both_ways(variables, sql, params)
        assert by_copy == by_rows, dataset.name


def json_both_ways(variables, sql, params) -> tuple[list[bytes], list[bytes]]:
    """Each row's Dataset-JSON text as PostgreSQL writes it for the export and as Python's
    encoder writes psycopg's values of the same rows."""
    by_rows = [_ROW_JSON(row).encode() for row in rows_read(sql, params)]
    return list(json_rows_read(sql, params, variables)), by_rows


@pytest.mark.parametrize("blinded", [True, False])
def test_sdtm_json_rows_written_by_postgresql_are_the_bytes_python_writes(scored, blinded):
    for dataset, variables, sql, params in sdtm_queries(scored.study, blinded=blinded):
        by_postgresql, by_python = json_both_ways(variables, sql, params)
        assert by_postgresql == by_python, dataset.name
        assert len(by_python) > 0, dataset.name


def test_json_rows_keep_every_value_python_would_write(db):
    """Text that JSON and COPY both escape, whole and fractional numbers of every kind, dates,
    instants, booleans and NULLs: the same JSON text, and json.loads reads the values back."""
    sql = """
        SELECT * FROM (VALUES
            ('say "hi" \\ back' || chr(10) || 'tab' || chr(9) || 'bell' || chr(7) || ' ÆØÅ ✓',
             2::numeric, 41.66666666666666666667::numeric, 1e-7::float8, 1e16::float8,
             123456789012345::float8, 0.1::float4, 7::integer, 9000000000::bigint,
             date '2026-03-01', timestamptz '2026-03-01 12:34:56.789+02', true, ''::text),
            (NULL, NULL, -0.5::numeric, -0.0::float8, NULL, NULL, NULL, NULL, NULL, NULL,
             NULL, false, NULL)
        ) AS v(a, b, c, d, e, f, g, h, i, j, k, l, m)
    """
    types = ["string", "decimal", "decimal", "decimal", "decimal", "decimal", "decimal",
             "integer", "integer", "date", "datetime", "string", "string"]  # fmt: skip
    variables = [Variable(chr(97 + n), "x", t) for n, t in enumerate(types)]
    by_postgresql, by_python = json_both_ways(variables, sql, [])
    assert by_postgresql == by_python
    first = json.loads(by_postgresql[0])
    assert first[0] == 'say "hi" \\ back\ntab\tbell\x07 ÆØÅ ✓'
    assert first[1:4] == [2.0, 41.666666666666664, 1e-07] and first[12] == ""
    assert json.loads(by_postgresql[1])[:4] == [None, None, -0.5, -0.0]


def test_json_numbers_from_1e15_to_1e16_are_the_same_numbers(db):
    """PostgreSQL writes them with an exponent (1e+15), Python positionally: the same value."""
    sql = "SELECT * FROM (VALUES (1e15::float8, 1234567890123456::numeric, 1e16::float8)) v(a,b,c)"
    variables = [Variable(name, "x", "decimal") for name in "abc"]
    by_postgresql, by_python = json_both_ways(variables, sql, [])
    assert json.loads(by_postgresql[0]) == json.loads(by_python[0]) == [1e15, 1234567890123456.0,
                                                                        1e16]


def test_json_rows_of_a_refused_file_are_closed_before_the_error_passes():
    """The Dataset-JSON writer closes its encoded rows (a COPY) as soon as reading them fails,
    like the XPT writer (test_export_xpt_stream.py)."""
    closed = []

    def encoded():
        try:
            yield b'["a"]'
            raise ValueError("COPY ended inside a row")
        finally:
            closed.append(True)

    chunks = dataset_json_stream(head={}, variables=[Variable("A", "a", "string")],
                                 encoded=encoded(), out=ExportFile("a.json"))  # fmt: skip
    with pytest.raises(ValueError, match="inside a row"):
        b"".join(chunks)
    assert closed == [True]


def test_xpt_by_copy_keeps_rows_of_one_empty_column_and_booleans_of_every_type(db):
    """A row whose only value is NULL is an empty line of CSV, not a line to skip; a boolean
    is 1 / 0 in a numeric variable and True / False in a text one, as psycopg's value makes."""
    sql = "SELECT * FROM (VALUES (NULL::text, true, false), ('a', NULL, true)) v(\"a%%\", b, c)"
    variables = [Variable("A", "a", "string"), Variable("B", "b", "integer"),
                 Variable("C", "c", "string")]  # fmt: skip
    by_copy, by_rows = xpt_both_ways(variables, sql, [])
    assert by_copy == by_rows
    single = "SELECT * FROM (VALUES (NULL::text), ('x'), (NULL), ('y')) v(a)"
    by_copy, by_rows = xpt_both_ways([Variable("A", "a", "string")], single, [])
    assert by_copy == by_rows
    frame, _ = read_with(pyreadstat.read_xport, by_copy, ".xpt")
    assert frame["A"].tolist() == ["", "x", "", "y"]
