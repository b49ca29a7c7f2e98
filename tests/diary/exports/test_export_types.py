"""Every column of every file is read with the dictionary's type by pandas.read_csv and by R's
read.csv, each with its default options.

pandas is run. R is not installed here, so its rule is applied as documented for read.csv
(utils::type.convert, R >= 3.1): blank fields are NA in non-text columns; a column whose
present values are all T/F/TRUE/FALSE/true/false/True/False is logical, all integers within
32 bits integer, all numbers double, anything else character. Dates and times stay
character in both readers (parse them with as.Date / as.POSIXct or parse_dates).

pandas reads an integer column with an empty cell as float64 (numpy integers have no
missing value) with integral values; R keeps it integer with NA. A column with no value at
all cannot show its type in either reader, so the test data fill every column.
"""

import csv
import io
import re

import pandas as pd
import pytest
from pandas.api import types

from diary.exports.columns import KINDS, UNBLINDED_ONLY_KINDS
from tests.diary.exports.test_export_service import download

pytestmark = pytest.mark.django_db

FILES = [
    (kind, blinded)
    for kind in KINDS
    for blinded in (True, False)
    if not (blinded and kind in UNBLINDED_ONLY_KINDS)
]
R_LOGICAL = {"T", "F", "TRUE", "FALSE", "true", "false", "True", "False"}
R_INTEGER = re.compile(r"[-+]?\d+")
R_DOUBLE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(Inf|NaN)")
R_CLASS = {"string": "character", "date": "character", "datetime": "character",
           "integer": "integer", "decimal": "numeric"}  # fmt: skip
ISO = {"date": re.compile(r"\d{4}-\d\d-\d\d"),
       "datetime": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")}  # fmt: skip


def r_read_csv_class(cells: list[str]) -> str:
    """The class R's read.csv gives a column of these cells (see the module docstring)."""
    present = [cell for cell in cells if cell not in ("", "NA")]
    if all(cell in R_LOGICAL for cell in present):
        return "logical"
    if all(R_INTEGER.fullmatch(c) and abs(int(c)) <= 2**31 - 1 for c in present):
        return "integer"
    if all(R_DOUBLE.fullmatch(cell) for cell in present):
        return "numeric"
    return "character"


def pandas_reads_as(series: pd.Series, stated: str) -> bool:
    if stated in ("string", "date", "datetime"):
        return types.is_string_dtype(series) and not types.is_numeric_dtype(series)
    if stated == "integer":
        if types.is_integer_dtype(series):
            return True
        present = series.dropna()
        return (
            types.is_float_dtype(series)
            and series.isna().any()
            and bool((present == present.round()).all())
        )
    if stated == "decimal":
        return types.is_float_dtype(series)
    raise AssertionError(f"unknown type {stated!r}")


def test_r_rule_reads_numbers_and_text_as_r_does():
    # The examples of ?type.convert's rules, so the stand-in can be trusted.
    assert r_read_csv_class(["1.0", "2"]) == "numeric"
    assert r_read_csv_class(["1", "", "3"]) == "integer"
    assert r_read_csv_class(["3000000000"]) == "numeric"
    assert r_read_csv_class(["T", "F", ""]) == "logical"
    assert r_read_csv_class(["v1.0", "S01-001"]) == "character"
    assert r_read_csv_class(["2026-01-05"]) == "character"


@pytest.mark.parametrize(("kind", "blinded"), FILES)
def test_each_column_is_read_with_its_dictionary_type(trial, kind, blinded):
    statistician = trial.memberships.get(role="statistician").user
    dictionary, _ = download(statistician, study=trial, kinds=("dictionary",), blinded=blinded)
    stated = dict(pd.read_csv(io.BytesIO(dictionary))[["variable", "type"]].values)
    content, _ = download(statistician, study=trial, kinds=(kind,), blinded=blinded)
    frame = pd.read_csv(io.BytesIO(content))
    header, *rows = list(csv.reader(io.StringIO(content.decode())))
    if kind == "dictionary":
        # Its own columns are all text: variable names, labels, codes, units, versions (v1.0).
        column_types = dict.fromkeys(header, "string")
    else:
        column_types = {name: stated[name] for name in header}
    for position, name in enumerate(header):
        cells = [row[position] for row in rows]
        assert any(cells), f"{kind}: the test data leave {name} empty"
        assert pandas_reads_as(frame[name], column_types[name]), (name, frame[name].dtype)
        assert r_read_csv_class(cells) == R_CLASS[column_types[name]], name
        if column_types[name] in ISO:
            assert all(ISO[column_types[name]].fullmatch(c) for c in cells if c), name
