"""The comparison scoring.summaries builds today from per-participant treatment means.

Kept so the summary page works unchanged until it is wired to crossover_analyse, which also
needs the period values (for the mixed model and the counts). Its 2x2 contrasts are now the
classic pooled-variance two-sequence analysis (scoring.statistics.crossover), not Welch's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from scoring.statistics._numbers import AsDict, Number, exact, jsonable
from scoring.statistics.crossover import Contrast, two_sequence_analyse
from scoring.statistics.design import CrossoverDesign, ParticipantBlocks
from scoring.statistics.paired import PairedComparison, paired_compare


class ParticipantMean(NamedTuple):
    """One participant's mean of one outcome under one treatment, with her sequence."""

    participant: str
    sequence: str
    treatment: str
    mean: Number


@dataclass(frozen=True)
class CrossoverComparison(AsDict):
    """A against B from treatment means: overall paired comparison, the same per sequence
    (sorted by code), and the two-sequence contrasts (period_effect: block 1 - block 2;
    treatment_effect_period_adjusted: A - B; carry_over: descriptive only).
    excluded_participants: participants with a mean under only one treatment."""

    treatment_a: str
    treatment_b: str
    sequence_a_first: str
    sequence_b_first: str
    overall: PairedComparison
    by_sequence: tuple[tuple[str, PairedComparison], ...]
    period_effect: Contrast
    treatment_effect_period_adjusted: Contrast
    carry_over: Contrast
    excluded_participants: int
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with by_sequence as {sequence code: comparison}."""
        result = super().as_dict()
        result["by_sequence"] = {code: jsonable(c) for code, c in self.by_sequence}
        return result


def crossover_compare(
    rows: Iterable[ParticipantMean | tuple[str, str, str, Number]],
    *,
    treatment_a: str,
    treatment_b: str,
    sequence_a_first: str | None = None,
    sequence_b_first: str | None = None,
    confidence: float = 0.95,
) -> CrossoverComparison:
    """Overall, per-sequence and two-sequence contrasts from (participant, sequence, treatment,
    mean) rows, at most one per participant and treatment. The sequences default to
    treatment_a + treatment_b ("AP") and the reverse ("PA"). ValueError for an unknown
    treatment, a participant listed twice for a treatment or under two sequences, or identical
    treatments or sequences; TypeError for a None mean."""
    design = CrossoverDesign(
        treatment_a, treatment_b, sequence_a_first or treatment_a + treatment_b,
        sequence_b_first or treatment_b + treatment_a,
    )  # fmt: skip
    means: dict[str, dict[str, Fraction]] = {}
    sequences: dict[str, str] = {}
    for row in rows:
        participant, sequence, treatment, value = ParticipantMean(*row)
        if treatment not in (treatment_a, treatment_b):
            raise ValueError(f"unknown treatment {treatment!r} for participant {participant!r}")
        if sequences.setdefault(participant, sequence) != sequence:
            raise ValueError(f"participant {participant!r} is listed under two sequences")
        if treatment in means.setdefault(participant, {}):
            raise ValueError(f"participant {participant!r} listed twice for {treatment!r}")
        means[participant][treatment] = exact(value)
    complete = sorted(p for p, by in means.items() if len(by) == 2)
    pairs = {p: (means[p][treatment_a], means[p][treatment_b]) for p in complete}
    notes: list[str] = []
    if excluded := len(means) - len(complete):
        notes.append(f"{excluded} participant(s) with only one treatment excluded")
    by_sequence = tuple(
        (code, paired_compare([pairs[p] for p in complete if sequences[p] == code],
                              confidence=confidence))
        for code in sorted({sequences[p] for p in complete})
    )  # fmt: skip
    known = (design.sequence_a_first, design.sequence_b_first)
    if unknown := sorted({c for c, _ in by_sequence} - set(known)):
        notes.append(f"sequences {unknown} are in by_sequence but not in the 2x2 contrasts")
    blocks = []
    for p in complete:
        a, b = pairs[p]
        if sequences[p] in known:
            first, second = (a, b) if sequences[p] == design.sequence_a_first else (b, a)
            blocks.append(ParticipantBlocks(p, sequences[p], first, second, 1, 1))
    two_sequence = two_sequence_analyse(blocks, design=design, confidence=confidence)
    notes.extend(two_sequence.notes)
    return CrossoverComparison(
        treatment_a=treatment_a, treatment_b=treatment_b,
        sequence_a_first=design.sequence_a_first, sequence_b_first=design.sequence_b_first,
        overall=paired_compare(list(pairs.values()), confidence=confidence),
        by_sequence=by_sequence, period_effect=two_sequence.period,
        treatment_effect_period_adjusted=two_sequence.treatment,
        carry_over=two_sequence.carry_over, excluded_participants=excluded, notes=tuple(notes),
    )  # fmt: skip
