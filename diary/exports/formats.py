"""File formats beyond CSV: Dataset-JSON v1.1, SAS XPORT v5 (.xpt), SPSS (.sav), Stata (.dta).

The rows come from the same SELECT as the CSV of the same kind (diary.exports.queries,
diary.exports.sdtm.queries), so the query count stays one per file whatever the study's size.

- Dataset-JSON is written as the rows arrive (the record count, which the standard needs, is
  written after the rows: JSON keys have no order), so memory stays flat. PostgreSQL writes
  each row's JSON text in a COPY (json_rows_read), the same bytes as Python's encoder makes of
  psycopg's values (tests/diary/exports/test_export_file_formats.py).
- XPT is written in bounded memory (diary.exports.xpt): the observations block by block,
  spooled to a temporary file while the character widths are measured, the header records by
  pyreadstat (ReadStat); the bytes are those pyreadstat writes for the whole table. The rows
  come as columns from a COPY read by pandas' C parser (columns_read), the same file as the
  cursor's rows give (the same test file).
- SAV and DTA are written by pyreadstat, which takes a whole pandas DataFrame: these files are
  built in memory and then streamed from a temporary file, in memory in proportion to their
  rows (the wide, long, treatment means and analysis tables; the SDTM datasets are not offered
  in these formats).

Values keep their meaning in every format: codes are numbers with their labels as value labels
(SAV, DTA), dates and instants are dates (SAV, DTA) or ISO 8601 text (XPT, Dataset-JSON,
as SDTM writes them), a missing value is empty (system missing / blank), never 0.
XPT v5 limits (SAS TS-140): names of at most 8 characters, labels of 40, character values of
200; names longer than 8 are shortened by xpt_names, and the manifest lists the renaming.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pyreadstat
from django.db import connection, transaction

from diary.exports.writer import ExportFile, copy_blocks
from diary.exports.xpt import closing_source, xpt_columns_stream, xpt_stream

FORMATS = ("csv", "json", "xpt", "sav", "dta")
EXTENSIONS = {"csv": "csv", "json": "json", "xpt": "xpt", "sav": "sav", "dta": "dta"}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xpt": "application/x-sas-xport",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
    "xml": "application/xml; charset=utf-8",
}
XPT_NAME_MAX, XPT_LABEL_MAX, XPT_CHAR_MAX = 8, 40, 200
DTA_LABEL_MAX = 80  # Stata's variable label limit
BLOCK_ROWS = 5000  # rows fetched from the server-side cursor at a time
DATASET_JSON_VERSION = "1.1.0"


@dataclass(frozen=True)
class Variable:
    """One column of a file, as the writers need it."""

    name: str
    label: str
    type: str  # string | integer | decimal | date | datetime
    length: int = 0  # characters of a string (Dataset-JSON); 0 = not declared
    codes: tuple[tuple[int | str, str], ...] = ()  # value labels (integer codes only used)
    oid: str = ""  # Dataset-JSON itemOID / define.xml ItemDef OID
    key_sequence: int = 0
    iso_text: bool = False  # a date or instant already written as ISO 8601 text (SDTM)


def rows_read(sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    """Rows of `sql` through a server-side cursor, BLOCK_ROWS at a time, in its own
    transaction (an export interrupted half-way rolls only that back)."""
    with transaction.atomic():
        raw = connection.connection
        with raw.cursor(name="export_rows") as cursor:
            cursor.itersize = BLOCK_ROWS
            cursor.execute(sql, params)
            yield from cursor


# PostgreSQL type OIDs whose text in COPY differs from what Python makes of psycopg's value.
_DATE, _TIMESTAMP, _TIMESTAMPTZ, _BOOL = 1082, 1114, 1184, 16
_INTEGERS, _FLOATS, _NUMERIC = (20, 21, 23), (700, 701), 1700
_TEXTS = (25, 1042, 1043)  # text, char(n), varchar(n)
_INSTANT_TEXT = """'YYYY-MM-DD"T"HH24:MI:SS'"""


def _described(
    sql: str, params: list[Any], variables: Sequence[Variable]
) -> list[tuple[str, int, Variable]]:
    """Each column of `sql` as a quoted reference into it (`t."name"`), its type OID and its
    variable: a LIMIT 0 describe of the query (one more round trip, no rows)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({sql}) AS t LIMIT 0", params)  # noqa: S608 - our SELECT
        described = [(c.name, c.type_code) for c in cursor.description]
    if len(described) != len(variables):
        raise ValueError(f"the query has {len(described)} columns, the file {len(variables)}")
    return [
        # The name goes back into SQL that psycopg formats with `params`: a % is doubled.
        ("t." + '"' + name.replace('"', '""').replace("%", "%%") + '"', oid, variable)
        for (name, oid), variable in zip(described, variables, strict=True)
    ]


def _copy_select(sql: str, params: list[Any], variables: Sequence[Variable]) -> str:
    """`sql` wrapped so that COPY writes each value as _coerce writes it for XPT: instants as
    ISO 8601 text to the second in the session's time zone (the zone psycopg gives datetimes
    in), dates as ISO dates, booleans of a text variable as Python's str. The column types
    come from the query itself (_described)."""
    selects = []
    for value, oid, variable in _described(sql, params, variables):
        if oid in (_TIMESTAMP, _TIMESTAMPTZ):
            value = f"to_char({value}, {_INSTANT_TEXT})"
        elif oid == _DATE:
            value = f"to_char({value}, 'YYYY-MM-DD')"
        elif oid == _BOOL:  # float(True) is 1.0, str(True) "True"
            numeric = variable.type in ("integer", "decimal")
            yes, no = ("1", "0") if numeric else ("'True'", "'False'")
            value = f"CASE WHEN {value} THEN {yes} WHEN NOT {value} THEN {no} END"
        selects.append(value)
    return f"SELECT {', '.join(selects)} FROM ({sql}) AS t"  # noqa: S608 - quoted names


class _CopyReader(io.RawIOBase):
    """The blocks of a COPY as a readable binary stream (for pandas' C CSV parser)."""

    def __init__(self, blocks: Iterator[Any]) -> None:
        self._blocks = blocks
        self._rest = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._rest = memoryview(bytes(block))
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


def columns_read(
    sql: str, params: list[Any], variables: Sequence[Variable], *, block_rows: int = 20_000
) -> Iterator[list[Any]]:
    """The rows of `sql` as blocks of columns, for the XPT writer: PostgreSQL writes CSV
    (COPY, as the CSV exports), pandas' C parser reads it `block_rows` at a time; numbers as
    float64 (NaN when empty; pandas 3 parses to the nearest double, as float() does), text as str
    ("" for NULL, as for an empty text). The Python rows of a server-side cursor cost a
    conversion per value, which at 10,000 participants' SDTM QS (2.2 million rows of 20
    values) was most of the XPT file's time."""
    statement = _copy_select(sql, params, variables)
    names = [f"c{position}" for position in range(len(variables))]
    numeric = {n for n, v in zip(names, variables, strict=True) if v.type in ("integer", "decimal")}
    blocks = copy_blocks(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')",
                         params)  # fmt: skip
    with closing_source(blocks):
        stream = io.BufferedReader(_CopyReader(blocks), buffer_size=1 << 20)
        reader = pd.read_csv(
            stream, header=None, names=names, chunksize=block_rows, encoding="utf-8",
            dtype={n: "float64" if n in numeric else str for n in names},
            keep_default_na=False, na_values={n: [""] for n in numeric},
            skip_blank_lines=False,  # a row of one NULL column is an empty line
            engine="c",
        )  # fmt: skip
        with reader:
            for frame in reader:
                yield [frame[n].to_numpy() for n in names]


def _json_value(value: Any) -> Any:
    """A value JSON has no type for (the encoder's `default`: it sees only these)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not a Dataset-JSON value: {type(value).__name__}")


# One encoder for every row, in C: text, integers and missing values are written as they
# come and only a Decimal or date goes through _json_value (the SDTM QS of 10,000
# participants is 2.2 million rows of 20 values).
_ROW_JSON = json.JSONEncoder(ensure_ascii=False, default=_json_value).encode


_JSON_TYPES = {"string": "string", "integer": "integer", "decimal": "double", "date": "date",
               "datetime": "datetime"}  # fmt: skip


def dataset_json_columns(variables: Sequence[Variable]) -> list[dict[str, Any]]:
    columns = []
    for v in variables:
        column: dict[str, Any] = {"itemOID": v.oid or v.name, "name": v.name, "label": v.label,
                                  "dataType": _JSON_TYPES[v.type]}  # fmt: skip
        if v.type == "string" and v.length:
            column["length"] = v.length
        if v.key_sequence:
            column["keySequence"] = v.key_sequence
        columns.append(column)
    return columns


def _json_item(value: str, oid: int) -> str:
    """SQL for one value's JSON text, as _ROW_JSON writes psycopg's value of that type: text
    escaped as json.dumps(ensure_ascii=False) escapes it (PostgreSQL's to_json: the same
    escapes, lowercase \\u00xx below U+0020), integers as they are, numeric and floating
    values as the shortest text of their nearest double (float8's output since PostgreSQL 12,
    Python's repr) with ".0" when that text is a whole number (a real through its text, as
    psycopg reads it; from 1e15 to 1e16 PostgreSQL writes an exponent where Python does not:
    the same number, beyond any value of the diary), dates and instants as
    _json_value's text, booleans as true / false, NULL as null."""
    if oid == _NUMERIC or oid in _FLOATS:
        # psycopg reads a real (float4) from its shortest text, so Python holds the double
        # nearest to that text, not the float4's own value.
        double = f"({value})::{'text::' if oid == _FLOATS[0] else ''}float8"
        # float8's text is a bare integer just when the double is whole and below 1e15 (from
        # there on it is written with an exponent, as is NaN: NaN = NaN in PostgreSQL).
        whole = f"{double} = trunc({double}) AND abs({double}) < 1e15"
        text = f"{double}::text || CASE WHEN {whole} THEN '.0' ELSE '' END"
    elif oid in _INTEGERS:
        text = f"({value})::text"
    elif oid in (_TIMESTAMP, _TIMESTAMPTZ):
        text = f"to_json(to_char({value}, {_INSTANT_TEXT}))::text"
    elif oid == _DATE:
        text = f"to_json(to_char({value}, 'YYYY-MM-DD'))::text"
    elif oid in (*_TEXTS, _BOOL):
        text = f"to_json({value})::text"
    else:
        raise ValueError(f"{value}: no Dataset-JSON value for PostgreSQL type {oid}")
    return f"coalesce({text}, 'null')"


def json_rows_read(sql: str, params: list[Any], variables: Sequence[Variable]) -> Iterator[bytes]:
    """The rows of `sql` as _ROW_JSON's text of each (UTF-8, no newline), written by
    PostgreSQL (COPY of one JSON array per row, as the CSV exports are copied): the database
    formats while this process writes, instead of the two taking turns over a cursor's blocks
    with a Python conversion per value (at 10,000 participants' SDTM QS, 2.2 million rows of 20
    values, that was a third of the file's time). COPY's text format doubles backslashes and
    escapes control characters; JSON text has none of the latter (to_json escapes them), so
    undoubling the backslashes gives the JSON back."""
    items = [_json_item(value, oid) for value, oid, _ in _described(sql, params, variables)]
    array = "'[' || " + " || ', ' || ".join(items) + " || ']'"
    statement = f"SELECT {array} FROM ({sql}) AS t"  # noqa: S608 - quoted names
    blocks = copy_blocks(f"COPY ({statement}) TO STDOUT", params)
    with closing_source(blocks):
        rest = b""
        for block in blocks:
            lines = (rest + bytes(block)).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield line.replace(b"\\\\", b"\\")
        if rest:
            raise ValueError("COPY ended inside a row")


def dataset_json_stream(
    *,
    head: dict[str, Any],
    variables: Sequence[Variable],
    rows: Iterable[Sequence[Any]] | None = None,
    encoded: Iterable[bytes] | None = None,
    out: ExportFile,
) -> Iterator[bytes]:
    """A Dataset-JSON v1.1 file: `head` (its top-level attributes but records), columns, then
    the rows as they come (`rows` of values, or `encoded`: each row's JSON text, as
    json_rows_read gives them), then the record count."""
    if (rows is None) == (encoded is None):
        raise ValueError("dataset_json_stream: give either rows or encoded rows")
    if encoded is None:
        encoded = (_ROW_JSON(row).encode() for row in rows)
    opening = {**head, "columns": dataset_json_columns(variables)}
    yield out.feed((json.dumps(opening, ensure_ascii=False)[:-1] + ', "rows": [').encode())
    count, buffer = 0, []
    with closing_source(encoded):
        for row in encoded:
            buffer.append(row)
            count += 1
            if len(buffer) >= BLOCK_ROWS:
                yield out.feed((b"," if count > len(buffer) else b"") + b",".join(buffer))
                buffer = []
    tail = (b"," if count > len(buffer) and buffer else b"") + b",".join(buffer)
    yield out.feed(tail + f'], "records": {count}}}'.encode())
    out.finish(count)


_NOT_NAME = re.compile(r"[^A-Z0-9_]")


def xpt_names(names: Sequence[str]) -> list[str]:
    """SAS XPORT v5 names for `names`, in order: capitals, digits and underscores, at most 8
    characters, unique. A name that fits is only capitalised (period -> PERIOD); a longer one
    loses its underscores, then its end (ehp30_q01 -> EHP30Q01, control_powerlessness ->
    CONTROLP); one that collides with an earlier one ends in a counter instead (CONTROL2)."""
    out: list[str] = []
    for name in names:
        base = _NOT_NAME.sub("_", name.upper())
        if len(base) > XPT_NAME_MAX:
            base = base.replace("_", "")
        if not base or base[0].isdigit():
            base = "V" + base
        base = base[:XPT_NAME_MAX]
        candidate, counter = base, 1
        while candidate in out:
            counter += 1
            suffix = str(counter)
            candidate = base[: XPT_NAME_MAX - len(suffix)] + suffix
        out.append(candidate)
    return out


def _coerce(value: Any, variable: Variable, fmt: str) -> Any:
    if value is None or value == "":
        return None
    kind = variable.type
    if kind in ("integer", "decimal"):
        return float(value)
    if kind in ("date", "datetime"):
        if fmt == "xpt" or variable.iso_text:
            if isinstance(value, datetime):
                return value.strftime("%Y-%m-%dT%H:%M:%S")
            return value.isoformat() if isinstance(value, date) else str(value)
        if isinstance(value, str):
            return pd.Timestamp(value.rstrip("Z"))
        return pd.Timestamp(value)
    return str(value)


def frame_build(
    variables: Sequence[Variable], rows: Iterable[Sequence[Any]], fmt: str
) -> pd.DataFrame:
    """The rows as a DataFrame with one dtype per variable: float64 for numbers (NaN when
    missing), str for text (blank when missing), datetime64 for dates in SAV / DTA."""
    columns: list[list[Any]] = [[] for _ in variables]
    for row in rows:
        for position, (value, variable) in enumerate(zip(row, variables, strict=True)):
            columns[position].append(_coerce(value, variable, fmt))
    data: dict[str, Any] = {}
    for variable, values in zip(variables, columns, strict=True):
        native_date = (
            variable.type in ("date", "datetime") and fmt != "xpt" and not variable.iso_text
        )
        if variable.type in ("integer", "decimal"):
            data[variable.name] = pd.Series(values, dtype="float64")
        elif native_date:
            # Microseconds: a date-only column would be datetime64[s], which pyreadstat 1.3.7
            # writes as seconds counted in nanoseconds (1970-01-01).
            series = pd.to_datetime(pd.Series(values, dtype="object"))
            data[variable.name] = series.astype("datetime64[us]")
        else:
            data[variable.name] = pd.Series(["" if v is None else v for v in values],
                                            dtype="object")  # fmt: skip
    return pd.DataFrame(data, columns=[v.name for v in variables])


def value_labels(variables: Sequence[Variable]) -> dict[str, dict[float, str]]:
    """SPSS / Stata value labels: the integer codes of each coded numeric variable."""
    return {
        v.name: {float(code): label for code, label in v.codes if isinstance(code, int)}
        for v in variables
        if v.type == "integer" and any(isinstance(code, int) for code, _ in v.codes)
    }


_XPT_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
_XPT_OBS = b"HEADER RECORD*******OBS     HEADER RECORD"


def xpt_stamp(head: bytes, when: datetime) -> bytes:
    """The XPT header records `head` with every creation and modification time set to `when`
    (ddMMMyy:hh:mm:ss, TS-140), instead of the moment ReadStat wrote them: the file then
    depends only on the export's time and content, so that a blinded file can be shown to be
    the same whatever the allocation. Only the header before the observations is touched."""
    end = head.find(_XPT_OBS)
    if end < 0:
        raise ValueError("not a SAS XPORT file: no observation header")
    stamp = when.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")
    return _XPT_STAMP.sub(stamp, head[:end]) + head[end:]


def stat_file_stream(
    fmt: str,
    *,
    variables: Sequence[Variable],
    rows: Iterable[Sequence[Any]] | None = None,
    query: tuple[str, list[Any]] | None = None,
    out: ExportFile,
    table_name: str,
    file_label: str,
    now: datetime,
) -> tuple[Iterator[bytes], dict[str, str]]:
    """An XPT (v5), SAV or DTA file of the rows, given as `rows` or as the `query` (SQL and
    parameters) that selects them, and the renaming XPT needed ({file name: original name},
    empty when none was). The file is built when the stream is first read; an XPT file's
    header carries `now` as its creation time. An XPT file of a query reads its rows as
    columns from a COPY (columns_read), the same values as the rows would give."""
    if (rows is None) == (query is None):
        raise ValueError("stat_file_stream: give either rows or a query")
    renamed: dict[str, str] = {}
    names = [v.name for v in variables]
    if fmt == "xpt":
        short = xpt_names(names)
        renamed = {s: n for s, n in zip(short, names, strict=True) if s != n}
        variables = [Variable(s, v.label[:XPT_LABEL_MAX].rstrip(), v.type, v.length, v.codes, v.oid,
                              v.key_sequence, v.iso_text)
                     for s, v in zip(short, variables, strict=True)]  # fmt: skip

    if fmt == "xpt":
        numeric = [v.type in ("integer", "decimal") for v in variables]

        def text(value: Any, position: int) -> str | None:
            coerced = _coerce(value, variables[position], fmt)
            return None if coerced is None else str(coerced)

        common: dict[str, Any] = {
            "names": [v.name for v in variables], "labels": [v.label for v in variables],
            "numeric": numeric, "text": text, "table_name": table_name[:8],
            "file_label": file_label[:XPT_LABEL_MAX], "on_end": out.finish,
            "header_fix": lambda head: xpt_stamp(head, now), "char_max": XPT_CHAR_MAX,
        }  # fmt: skip
        if query is not None:
            blocks = columns_read(*query, variables)
            chunks = xpt_columns_stream(blocks=blocks, **common)
        else:
            chunks = xpt_stream(rows=rows, block_rows=BLOCK_ROWS, **common)
        return (out.feed(chunk) for chunk in chunks), renamed
    if rows is None:
        rows = rows_read(*query)

    def chunks() -> Iterator[bytes]:
        frame = frame_build(variables, rows, fmt)
        labels = [v.label for v in variables]
        with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as handle:
            if fmt == "sav":
                pyreadstat.write_sav(frame, handle.name, file_label=file_label,
                                     column_labels=labels,
                                     variable_value_labels=value_labels(variables))  # fmt: skip
            elif fmt == "dta":
                short = [label[:DTA_LABEL_MAX].rstrip() for label in labels]
                pyreadstat.write_dta(frame, handle.name, file_label=file_label[:DTA_LABEL_MAX],
                                     column_labels=short,
                                     variable_value_labels=value_labels(variables))  # fmt: skip
            else:
                raise ValueError(f"not a statistical file format: {fmt}")
            handle.seek(0)
            while block := handle.read(1 << 16):
                yield out.feed(block)
        out.finish(len(frame))

    return chunks(), renamed
