"""SAS XPORT v5 (SAS TS-140) written in bounded memory: the observations as they come, the
header records by ReadStat (pyreadstat), the file the same bytes as pyreadstat writes for the
whole table at once.

pyreadstat takes a whole DataFrame, which for a study's SDTM QS (2.2 million records at 10,000
participants) is gigabytes of Python objects (bench/bench_export.py measured 272 MB of RSS
growth at 1,000 participants). A v5 file is a header (library, member and one NAMESTR record
per variable, which names each variable's byte width) and then fixed-width observations: a
character value in UTF-8 padded with blanks to the variable's width, a number as an 8-byte IBM
System/360 double ("." and seven zero bytes when missing), the last 80-byte record padded with
blanks. Only the widths depend on the data (the longest value of each character variable), and
the observation count is not in a v5 header. So the rows are read once, encoded block by block
and spooled to a temporary file while the widths are measured; the header is then written by
pyreadstat from a one-row table with those widths and the same labels, and the spooled blocks
are laid out at those widths with numpy.

Every finite IEEE double converts exactly: a 53-bit mantissa shifted right by at most three
bits still fits the 56-bit IBM fraction (tests/diary/exports/test_export_xpt_stream.py holds
the bytes equal to pyreadstat's own for numbers, text, missing values and no rows).

Pure: no Django, no clock.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD"
RECORD = 80
_MISSING = np.uint64(0x2E) << np.uint64(56)  # SAS's "." missing value


def ibm_doubles(values: np.ndarray) -> np.ndarray:
    """IEEE doubles as big-endian 8-byte IBM System/360 doubles; NaN as SAS's missing."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    bits = values.view(np.uint64)
    sign = bits >> np.uint64(63)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    mantissa = (bits & np.uint64((1 << 52) - 1)) | np.uint64(1 << 52)
    binary = exponent - 1022  # value = 0.1mmm... (binary) x 2**binary
    hexadecimal = -((-binary) // 4)  # the IBM exponent: 0.hhh... (hex) x 16**hexadecimal
    shift = (4 * hexadecimal - binary).astype(np.uint64)  # 0 to 3
    fraction = (mantissa << np.uint64(3)) >> shift
    biased = (hexadecimal + 64).astype(np.uint64) & np.uint64(0x7F)
    ibm = (sign << np.uint64(63)) | (biased << np.uint64(56)) | fraction
    with np.errstate(invalid="ignore"):
        ibm = np.where(values == 0, sign << np.uint64(63), ibm)
    ibm = np.where(np.isnan(values), _MISSING, ibm)
    return ibm.astype(">u8")


def xpt_stream(
    *,
    names: Sequence[str],
    labels: Sequence[str],
    numeric: Sequence[bool],
    rows: Iterable[Sequence[Any]],
    text: Callable[[Any, int], str | None],
    table_name: str,
    file_label: str,
    header_fix: Callable[[bytes], bytes],
    on_end: Callable[[int], None],
    block_rows: int = 5000,
    char_max: int = 200,
) -> Iterator[bytes]:
    """The XPT v5 file of `rows` in blocks: xpt_columns_stream of the rows `block_rows` at a
    time, each block turned into its columns."""

    def blocks() -> Iterator[list[Sequence[Any]]]:
        block: list[Sequence[Any]] = []
        for row in rows:
            block.append(row)
            if len(block) >= block_rows:
                yield list(zip(*block, strict=True))
                block = []
        if block:
            yield list(zip(*block, strict=True))

    return xpt_columns_stream(names=names, labels=labels, numeric=numeric, blocks=blocks(),
                              text=text, table_name=table_name, file_label=file_label,
                              header_fix=header_fix, on_end=on_end,
                              char_max=char_max)  # fmt: skip


def xpt_columns_stream(
    *,
    names: Sequence[str],
    labels: Sequence[str],
    numeric: Sequence[bool],
    blocks: Iterable[Sequence[Sequence[Any] | np.ndarray]],
    text: Callable[[Any, int], str | None],
    table_name: str,
    file_label: str,
    header_fix: Callable[[bytes], bytes],
    on_end: Callable[[int], None],
    char_max: int = 200,
) -> Iterator[bytes]:
    """The XPT v5 file of `blocks` (each a block of rows as its columns, in `names` order).
    A numeric variable's value is float(value) (None, NaN or "" missing); a character
    variable's is the value when it is a str, else `text(value, position)` (None or "" blank);
    `header_fix` may rewrite the header records (the creation time); `on_end(rows)` is called
    after the last block. Raises ValueError when a character value is longer than `char_max`
    characters.

    A column is converted through its distinct values (pandas.factorize, in C): an SDTM column
    holds a few hundred of them in a block of thousands (test codes, labels, visits, scores),
    so encoding each distinct value once and indexing the block with the codes costs no Python
    per value (bench/bench_export.py: at 10,000 participants the per-value loop was 45 s)."""
    count = 0
    widths = [0] * len(names)
    with tempfile.TemporaryFile() as spool:

        def spill(columns: Sequence[Sequence[Any] | np.ndarray]) -> int:
            """One block to the spool: its row count, then per variable its values (numbers
            as little-endian doubles; text in UTF-8 at the block's own width, after it)."""
            length = len(columns[0]) if columns else 0
            spool.write(struct.pack("<Q", length))
            for position, values in enumerate(columns):
                if numeric[position]:
                    spool.write(_doubles(values).tobytes())
                    continue
                codes, uniques = _factorized(values)
                # Text from the database is str already: only other values go through `text`.
                strings = [
                    "" if v is None else v if type(v) is str else text(v, position) or ""
                    for v in uniques
                ]
                if max(map(len, strings), default=0) > char_max:
                    raise ValueError(f"{names[position]}: a value is longer than {char_max} "
                                     "characters, beyond SAS XPORT v5")  # fmt: skip
                encoded = [s.encode("utf-8") for s in strings]
                width = max(1, max(map(len, encoded), default=0))
                widths[position] = max(widths[position], width)
                # The missing value's code is -1: the table's last entry, blank.
                table = np.array([*encoded, b""], dtype=f"S{width}")
                spool.write(struct.pack("<Q", width))
                spool.write(table[codes].tobytes())
            return length

        with closing_source(blocks):
            for columns in blocks:
                count += spill(columns)
        yield header_fix(_header(names, labels, numeric, widths, count, table_name, file_label))
        if count:
            # ReadStat gives an all-blank character variable a width of 1.
            sizes = [8 if numeric[p] else max(width, 1) for p, width in enumerate(widths)]
            layout = np.dtype({
                "names": [f"v{p}" for p in range(len(names))],
                "formats": [">u8" if numeric[p] else f"S{size}" for p, size in enumerate(sizes)],
            })  # fmt: skip
            spool.seek(0)
            written = 0
            while written < count:
                (length,) = struct.unpack("<Q", spool.read(8))
                records = np.zeros(length, dtype=layout)
                for position in range(len(names)):
                    if numeric[position]:
                        values = np.frombuffer(spool.read(8 * length), dtype="<f8")
                        records[f"v{position}"] = ibm_doubles(values)
                        continue
                    (width,) = struct.unpack("<Q", spool.read(8))
                    column = np.frombuffer(spool.read(width * length), dtype=f"S{width}")
                    column = column.astype(f"S{sizes[position]}")
                    raw = column.view(np.uint8)
                    raw[raw == 0] = 0x20  # numpy pads with NUL, XPT with blanks
                    records[f"v{position}"] = column
                written += length
                yield records.tobytes()
            tail = (-written * layout.itemsize) % RECORD
            if tail:
                yield b" " * tail
    on_end(count)


@contextmanager
def closing_source(source: Iterable[Any]) -> Iterator[None]:
    """Closes `source` (a generator) however its reading ends. A source reading a COPY holds
    the connection in COPY mode while it is suspended; when a block is refused (a value too
    long), the traceback keeps the suspended generator alive, and the export's audit event,
    written on that connection as the error passes, would fail and hide the refusal."""
    try:
        yield
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _factorized(values: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """The codes and distinct values of a column; None and NaN are code -1."""
    array = values if isinstance(values, np.ndarray) else np.array(values, dtype=object)
    if array.dtype != object:
        array = array.astype(object)
    codes, uniques = pd.factorize(array, use_na_sentinel=True)
    return codes, list(uniques)


def _doubles(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """A numeric column as little-endian doubles, NaN where missing (None, NaN or "")."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return np.ascontiguousarray(values, dtype="<f8")
    codes, uniques = _factorized(values)
    table = np.array([np.nan if v is None or v == "" else float(v) for v in uniques] + [np.nan],
                     dtype="<f8")  # fmt: skip
    return table[codes]


def _header(names, labels, numeric, widths, count, table_name, file_label) -> bytes:
    """The header records up to and including the observation header, as pyreadstat writes
    them for a table of these widths (a one-row table: the header does not count rows), or
    the whole file of a table without rows."""
    columns = {}
    for position, name in enumerate(names):
        value = np.nan if numeric[position] else "x" * widths[position]
        dtype = "float64" if numeric[position] else "object"
        columns[name] = pd.Series([value] if count else [], dtype=dtype)
    frame = pd.DataFrame(columns, columns=list(names))
    with tempfile.NamedTemporaryFile(suffix=".xpt") as handle:
        pyreadstat.write_xport(frame, handle.name, file_label=file_label,
                               column_labels=list(labels), table_name=table_name,
                               file_format_version=5)  # fmt: skip
        content = handle.read()
    if not count:
        return content
    end = content.find(OBS_HEADER)
    if end < 0:
        raise ValueError("pyreadstat wrote no observation header")
    return content[: end + RECORD]
