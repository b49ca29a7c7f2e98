"""The inputs of a two-sequence, two-treatment crossover with treatment blocks.

Each participant follows one sequence: treatment A in the first block of periods and B in the
second (sequence_a_first, e.g. "AP"), or the reverse (sequence_b_first, "PA"). A block may hold
several periods (the pilot: periods 1-3 and 4-6); the two-sequence analyses use each
participant's mean over the periods she has in each block, the mixed model every period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from scoring.statistics._numbers import AsDict, Number, exact, mean


class Observation(NamedTuple):
    """One participant's value of one outcome in one period (a present value: a missing
    assessment or a null score is left out, never passed as 0 or None)."""

    participant: str
    sequence: str
    period: int
    treatment: str
    value: Number


@dataclass(frozen=True)
class CrossoverDesign(AsDict):
    """Which treatment is A (differences are A - B) and which sequence gives A first."""

    treatment_a: str
    treatment_b: str
    sequence_a_first: str
    sequence_b_first: str

    def __post_init__(self) -> None:
        if self.treatment_a == self.treatment_b:
            raise ValueError("the two treatments must differ")
        if self.sequence_a_first == self.sequence_b_first:
            raise ValueError("the two sequences must differ")

    def block_of(self, sequence: str, treatment: str) -> int:
        """1 or 2: the block in which `sequence` gives `treatment`. ValueError when either
        is not part of the design."""
        if sequence not in (self.sequence_a_first, self.sequence_b_first):
            raise ValueError(f"unknown sequence {sequence!r}")
        if treatment not in (self.treatment_a, self.treatment_b):
            raise ValueError(f"unknown treatment {treatment!r}")
        a_first = sequence == self.sequence_a_first
        return 1 if (treatment == self.treatment_a) == a_first else 2


class ParticipantBlocks(NamedTuple):
    """One participant's exact mean in each treatment block (None: no value in that block)
    and how many period values each mean used."""

    participant: str
    sequence: str
    first: Fraction | None
    second: Fraction | None
    n_first: int
    n_second: int

    @property
    def complete(self) -> bool:
        return self.first is not None and self.second is not None


def observations_check(
    observations: Iterable[Observation | tuple[str, str, int, str, Number]],
    *,
    design: CrossoverDesign,
) -> list[tuple[Observation, int, Fraction]]:
    """Each observation with its block and exact value, in input order.

    ValueError for an unknown sequence or treatment, a participant under two sequences, a
    participant with two values in one period, a period that is not an integer >= 1, or a
    first-block period that is not earlier than every second-block period (a sign that
    periods were mapped to the wrong treatment). TypeError/ValueError for a value that is None,
    not a number, NaN or infinite.
    """
    checked: list[tuple[Observation, int, Fraction]] = []
    sequences: dict[str, str] = {}
    seen: set[tuple[str, int]] = set()
    last_first, first_second = 0, None
    for raw in observations:
        row = Observation(*raw)
        if isinstance(row.period, bool) or not isinstance(row.period, int) or row.period < 1:
            raise ValueError(f"period must be an integer >= 1, got {row.period!r}")
        if sequences.setdefault(row.participant, row.sequence) != row.sequence:
            raise ValueError(f"participant {row.participant!r} is listed under two sequences")
        if (row.participant, row.period) in seen:
            raise ValueError(f"participant {row.participant!r} has two values in period "
                             f"{row.period}")  # fmt: skip
        seen.add((row.participant, row.period))
        block = design.block_of(row.sequence, row.treatment)
        if block == 1:
            last_first = max(last_first, row.period)
        else:
            first_second = row.period if first_second is None else min(first_second, row.period)
        checked.append((row, block, exact(row.value)))
    if first_second is not None and last_first >= first_second:
        raise ValueError(f"period {last_first} is in the first block but period "
                         f"{first_second} is in the second: blocks must not overlap")  # fmt: skip
    return checked


def block_means(
    observations: Iterable[Observation | tuple[str, str, int, str, Number]],
    *,
    design: CrossoverDesign,
) -> tuple[ParticipantBlocks, ...]:
    """Each participant's exact mean per block, sorted by participant (see observations_check
    for what is rejected). Missing periods simply do not count: a block mean is the mean of the
    values present, and n_first/n_second say how many there were."""
    values: dict[str, dict[int, list[Fraction]]] = defaultdict(lambda: {1: [], 2: []})
    sequences: dict[str, str] = {}
    for row, block, value in observations_check(observations, design=design):
        values[row.participant][block].append(value)
        sequences[row.participant] = row.sequence
    return tuple(
        ParticipantBlocks(
            participant=participant, sequence=sequences[participant],
            first=mean(by[1]) if by[1] else None, second=mean(by[2]) if by[2] else None,
            n_first=len(by[1]), n_second=len(by[2]),
        )
        for participant, by in sorted(values.items())
    )
