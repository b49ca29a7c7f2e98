"""Every analysis of one outcome, in the order a statistician reads them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scoring.statistics._numbers import AsDict, Number, check_confidence
from scoring.statistics.crossover import (
    RankSumAnalysis,
    TwoSequenceAnalysis,
    rank_sum_analyse,
    two_sequence_analyse,
)
from scoring.statistics.design import (
    CrossoverDesign,
    Observation,
    ParticipantBlocks,
    block_means,
)
from scoring.statistics.mixed import MixedModelAnalysis, mixed_model_fit
from scoring.statistics.paired import PairedComparison, paired_compare


@dataclass(frozen=True)
class Exclusion(AsDict):
    """A participant with values for this outcome who is left out of the two-sequence, paired
    and rank-sum analyses (the mixed model keeps her), and why."""

    participant: str
    sequence: str
    reason: str


@dataclass(frozen=True)
class CrossoverAnalysis(AsDict):
    """One outcome's analyses. primary: two_sequence (treatment effect adjusted for period,
    period effect, carry-over as description); then paired (the pilot paper's comparison,
    not period-adjusted); rank_sum (nonparametric, period-adjusted); mixed (sensitivity, all
    assessments). Each says in its own notes what it could not compute; the others still are.

    n_participants counts everyone with at least one value of this outcome, per sequence in
    n_by_sequence; n_complete those with a mean in both blocks (the two-sequence, paired and
    rank-sum analyses), n_complete_by_sequence per sequence; `excluded` lists the others.
    `blocks` are the exact block means the analyses used, for the analysis file.
    """

    outcome: str
    design: CrossoverDesign
    confidence: float
    n_observations: int
    n_participants: int
    n_by_sequence: dict[str, int]
    n_complete: int
    n_complete_by_sequence: dict[str, int]
    excluded: tuple[Exclusion, ...]
    blocks: tuple[ParticipantBlocks, ...]
    two_sequence: TwoSequenceAnalysis
    paired: PairedComparison
    rank_sum: RankSumAnalysis
    mixed: MixedModelAnalysis

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; blocks as objects with float means (exact values: use `blocks`)."""
        result = super().as_dict()
        result["blocks"] = [
            {**row._asdict(), "first": None if row.first is None else float(row.first),
             "second": None if row.second is None else float(row.second)}
            for row in self.blocks
        ]  # fmt: skip
        return result


def treatment_pairs(
    blocks: Iterable[ParticipantBlocks], *, design: CrossoverDesign
) -> list[tuple[Any, Any]]:
    """(mean under A, mean under B) of each participant with both blocks, in block order."""
    return [
        (row.first, row.second) if row.sequence == design.sequence_a_first
        else (row.second, row.first)
        for row in blocks if row.complete
    ]  # fmt: skip


def crossover_analyse(
    observations: Iterable[Observation | tuple[str, str, int, str, Number]],
    *,
    design: CrossoverDesign,
    outcome: str = "",
    confidence: float = 0.95,
) -> CrossoverAnalysis:
    """All analyses of one outcome from its present period values (participant, sequence,
    period, treatment, exact value). ValueError for inconsistent input (see
    scoring.statistics.design.observations_check); never for too few or degenerate data."""
    check_confidence(confidence)
    rows = list(observations)
    blocks = block_means(rows, design=design)
    sequences = (design.sequence_a_first, design.sequence_b_first)
    excluded = tuple(
        Exclusion(row.participant, row.sequence,
                  "no value in the first treatment block" if row.first is None
                  else "no value in the second treatment block")
        for row in blocks if not row.complete
    )  # fmt: skip
    return CrossoverAnalysis(
        outcome=outcome, design=design, confidence=confidence, n_observations=len(rows),
        n_participants=len(blocks),
        n_by_sequence={s: sum(1 for r in blocks if r.sequence == s) for s in sequences},
        n_complete=sum(1 for r in blocks if r.complete),
        n_complete_by_sequence={
            s: sum(1 for r in blocks if r.sequence == s and r.complete) for s in sequences
        },
        excluded=excluded, blocks=blocks,
        two_sequence=two_sequence_analyse(blocks, design=design, confidence=confidence),
        paired=paired_compare(treatment_pairs(blocks, design=design), confidence=confidence),
        rank_sum=rank_sum_analyse(blocks, design=design, confidence=confidence),
        mixed=mixed_model_fit(rows, design=design, confidence=confidence),
    )  # fmt: skip
