"""Permuted-block randomization and allocation-list parsing: pure, no Django, no clock.

Reproducible: the same seed, sequences, block sizes and strata give the same list.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    stratum: str
    slot_number: int
    sequence_code: str


class ListInvalid(ValueError):
    """The list cannot be used; `errors` are messages such as "line 7: unknown sequence 'XY'"."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def block_sizes_check(block_sizes: Sequence[int], number_of_sequences: int) -> None:
    errors = [
        f"block size {size} is not a positive multiple of the {number_of_sequences} sequences"
        for size in block_sizes
        if size <= 0 or size % number_of_sequences
    ]
    if not block_sizes:
        errors.append("give at least one block size")
    if errors:
        raise ListInvalid(errors)


def permuted_blocks(
    *,
    sequence_codes: Sequence[str],
    block_sizes: Sequence[int],
    strata: Sequence[str],
    slots_per_stratum: int,
    seed: int,
) -> list[Slot]:
    """Slots for each stratum, in blocks whose size is drawn at random from `block_sizes`.

    Each block holds every sequence equally often, shuffled. Whole blocks are kept, so a
    stratum gets at least `slots_per_stratum` slots and is balanced after each block.
    A stratum "" means an unstratified list.
    """
    codes = sorted(sequence_codes)
    block_sizes_check(block_sizes, len(codes))
    if slots_per_stratum < 1:
        raise ListInvalid(["slots per stratum must be at least 1"])
    # Not for secrecy: a seeded generator is what makes the list reproducible. The seed is
    # stored with the list and visible only to unblinded users.
    rng = random.Random(seed)  # noqa: S311
    slots: list[Slot] = []
    for stratum in strata:
        order: list[str] = []
        while len(order) < slots_per_stratum:
            size = rng.choice(list(block_sizes))
            block = codes * (size // len(codes))
            rng.shuffle(block)
            order.extend(block)
        slots.extend(
            Slot(stratum=stratum, slot_number=number, sequence_code=code)
            for number, code in enumerate(order, start=1)
        )
    return slots


def allocation_csv_parse(
    text: str, *, sequence_codes: Iterable[str], site_codes: Iterable[str]
) -> list[Slot]:
    """Parse an uploaded list: header `slot,sequence[,stratum]`, one slot per line.

    Every problem is reported with its line number; ListInvalid carries all of them.
    The stratum is a site code on every line, or absent/blank on every line.
    """
    known_sequences = set(sequence_codes)
    known_sites = set(site_codes)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = list(reader)
    if not rows:
        raise ListInvalid(["line 1: the file is empty"])
    header = [cell.strip().lower() for cell in rows[0]]
    if header[:2] != ["slot", "sequence"] or header[2:] not in ([], ["stratum"]):
        raise ListInvalid(
            [
                f"line 1: the header must be 'slot,sequence' or 'slot,sequence,stratum', "
                f"not {','.join(rows[0])!r}"
            ]
        )
    errors: list[str] = []
    slots: list[Slot] = []
    seen: dict[tuple[str, int], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            errors.append(f"line {line}: expected {len(header)} columns, found {len(row)}")
            continue
        slot_text, code = row[0].strip(), row[1].strip()
        stratum = row[2].strip() if len(row) > 2 else ""
        try:
            number = int(slot_text)
        except ValueError:
            number = 0
        if number < 1:
            errors.append(f"line {line}: slot {slot_text!r} is not a positive whole number")
        if code not in known_sequences:
            errors.append(f"line {line}: unknown sequence {code!r}")
        if stratum and stratum not in known_sites:
            errors.append(f"line {line}: unknown site {stratum!r} as stratum")
        key = (stratum, number)
        if number >= 1 and key in seen:
            errors.append(f"line {line}: slot {number} repeats line {seen[key]}")
        seen.setdefault(key, line)
        slots.append(Slot(stratum=stratum, slot_number=number, sequence_code=code))
    if slots and len({bool(s.stratum) for s in slots}) > 1:
        errors.append("the stratum must be given on every line or on none")
    if not slots and not errors:
        errors.append("line 2: the list has no slots")
    if errors:
        raise ListInvalid(errors)
    return slots
