"""Streaming CSV out of PostgreSQL, counting and hashing as it goes; zip bundles."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction


@dataclass
class ExportFile:
    """What was written: filled in while the file streams, complete when it ends."""

    name: str
    rows: int = 0
    size: int = 0
    sha256: str = ""
    # XPT v5 names of at most 8 characters: {name in the file: the variable's own name}.
    renamed: dict[str, str] = field(default_factory=dict)
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    def feed(self, chunk: bytes) -> bytes:
        self._hash.update(chunk)
        self.size += len(chunk)
        return chunk

    def finish(self, rows: int) -> None:
        self.rows = rows
        self.sha256 = self._hash.hexdigest()

    def as_dict(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "name": self.name, "rows": self.rows, "bytes": self.size, "sha256": self.sha256
        }
        if self.renamed:
            described["renamed"] = dict(self.renamed)
        return described


def copy_blocks(statement: str, params: list[Any]) -> Iterator[memoryview]:
    """The data of a `COPY ... TO STDOUT` statement as PostgreSQL sends it, in a savepoint of
    its own (as copy_csv's, for the same reason: an interrupted read rolls back only it)."""
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(statement, params) as copy,
    ):
        yield from copy


def copy_csv(sql: str, params: list[Any], out: ExportFile) -> Iterator[bytes]:
    """Rows of `sql` as UTF-8 CSV with one header row, straight from PostgreSQL in blocks.

    A download closed half-way interrupts the COPY, which aborts the transaction it runs in;
    in a savepoint of its own only the savepoint is rolled back, so the audit event of the
    incomplete export can still be written (diary.services.exports.export_start)."""
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(statement, params) as copy:
            for block in copy:
                yield out.feed(bytes(block))
        out.finish(max(raw.rowcount, 0))


def rows_csv(header: list[str], rows: Iterable[list[Any]], out: ExportFile) -> Iterator[bytes]:
    """Small tables built in Python (the data dictionary), with the same conventions."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    yield out.feed(buffer.getvalue().encode())
    out.finish(count)


class _Sink(io.RawIOBase):
    """An unseekable stream: ZipFile then writes data descriptors and never seeks back."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> Iterator[bytes]:
        chunks, self.chunks = self.chunks, []
        yield from chunks


def zip_stream(
    parts: list[tuple[ExportFile, Iterator[bytes]]], manifest: callable
) -> Iterator[bytes]:
    """A zip of the given files, streamed; `manifest()` is called last and added as JSON."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for export_file, chunks in parts:
            with bundle.open(export_file.name, "w", force_zip64=True) as entry:
                for chunk in chunks:
                    entry.write(chunk)
                    yield from sink.drain()
        bundle.writestr("manifest.json", manifest())
    yield from sink.drain()
