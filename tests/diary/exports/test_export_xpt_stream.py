"""SAS XPORT v5 written block by block (diary.exports.xpt): the same bytes as pyreadstat
writes for the whole table at once, whatever the block size, with bounded memory."""

from __future__ import annotations

import math
import re
import tempfile

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from diary.exports.xpt import ibm_doubles, xpt_columns_stream, xpt_stream

NAMES = ["STUDYID", "QSSEQ", "QSORRES", "QSSTRESN", "QSBLANK"]
LABELS = ["Study Identifier", "Sequence Number", "Result in Original Units",
          "Numeric Result", "Always blank"]  # fmt: skip
NUMERIC = [False, True, False, True, False]


def rows_of(count: int) -> list[tuple]:
    rng = np.random.default_rng(7)
    rows = []
    for n in range(count):
        text = ["Never", "Sometimes", "Øften ÆØÅ", "", None][n % 5]
        value = None if n % 7 == 0 else float(rng.integers(-50, 200)) / [1, 4, 3][n % 3]
        rows.append(("ENDO-ANK", n + 1, text, value, None))
    return rows


def pyreadstat_whole(rows: list[tuple]) -> bytes:
    """The reference: pyreadstat given the whole table as a DataFrame."""
    columns = {}
    for position, name in enumerate(NAMES):
        values = [row[position] for row in rows]
        if NUMERIC[position]:
            columns[name] = pd.Series([math.nan if v is None else float(v) for v in values],
                                      dtype="float64")  # fmt: skip
        else:
            columns[name] = pd.Series(["" if v is None else v for v in values], dtype="object")
    frame = pd.DataFrame(columns, columns=NAMES)
    with tempfile.NamedTemporaryFile(suffix=".xpt") as handle:
        pyreadstat.write_xport(frame, handle.name, file_label="QS", column_labels=LABELS,
                               table_name="QS", file_format_version=5)  # fmt: skip
        return handle.read()


def streamed(rows: list[tuple], block_rows: int) -> tuple[bytes, int]:
    ended = []
    chunks = xpt_stream(
        names=NAMES, labels=LABELS, numeric=NUMERIC, rows=iter(rows),
        text=lambda value, position: None if value is None else str(value),
        table_name="QS", file_label="QS", header_fix=lambda head: head, on_end=ended.append,
        block_rows=block_rows,
    )  # fmt: skip
    return b"".join(chunks), ended[0]


def strip_times(content: bytes) -> bytes:
    """The header's creation times, which are the moment ReadStat wrote each file, blanked."""
    return re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", b"TIME", content)


@pytest.mark.parametrize(("count", "block_rows"), [(0, 10), (1, 10), (23, 5), (500, 64)])
def test_streamed_xpt_is_byte_identical_to_pyreadstat_whole_table(count, block_rows, tmp_path):
    rows = rows_of(count)
    content, ended = streamed(rows, block_rows)
    assert ended == count
    assert strip_times(content) == strip_times(pyreadstat_whole(rows))
    path = tmp_path / "qs.xpt"
    path.write_bytes(content)
    frame, meta = pyreadstat.read_xport(str(path))
    assert len(frame) == count and meta.column_labels == LABELS
    if count:
        expected = ["Never", "Sometimes", "Øften ÆØÅ", "", ""][:count]
        assert frame["QSORRES"].tolist()[:5] == expected
        assert math.isnan(frame["QSSTRESN"][0]) and frame["QSSEQ"].tolist()[-1] == count


def test_ibm_doubles_are_exact_and_missing_is_sas_dot():
    values = np.array([1.5, -3.25, 0.0, 100.0, 0.1, math.nan])
    encoded = ibm_doubles(values).tobytes()
    assert encoded[:8] == bytes([0x41, 0x18, 0, 0, 0, 0, 0, 0])
    assert encoded[8:16] == bytes([0xC1, 0x34, 0, 0, 0, 0, 0, 0])
    assert encoded[16:24] == bytes(8)
    assert encoded[40:48] == b"." + bytes(7)


def test_a_value_beyond_xpt_v5_is_refused_before_anything_is_written():
    rows = [("ENDO-ANK", 1, "x" * 201, 1.0, None)]
    with pytest.raises(ValueError, match="QSORRES: a value is longer than 200 characters"):
        streamed(rows, 10)


def test_a_refused_block_closes_its_source_before_the_error_passes():
    """A value too long for XPT v5 is refused while the source (in an export, a COPY that
    holds the connection) is suspended: the source is closed at once, not when the traceback
    is let go, so the export's audit event can still be written on that connection."""
    closed = []

    def blocks():
        try:
            yield [["short"]]
            yield [["x" * 201]]
            yield [["never read"]]
        finally:
            closed.append(True)

    chunks = xpt_columns_stream(
        names=["QSORRES"], labels=["Result"], numeric=[False], blocks=blocks(),
        text=lambda value, position: str(value), table_name="QS", file_label="QS",
        header_fix=lambda head: head, on_end=lambda rows: None, char_max=200,
    )  # fmt: skip
    with pytest.raises(ValueError, match="QSORRES: a value is longer than 200") as refused:
        b"".join(chunks)
    assert closed == [True]
    assert refused.traceback  # still held here: closing did not wait for it to go
