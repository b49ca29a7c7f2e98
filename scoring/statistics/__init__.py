"""Statistics for the unblinded summary of a two-sequence crossover (architecture, step 7).

Pure: no Django, no clock, no I/O. Inputs are exact numbers (int, Decimal or Fraction; a float
is taken at its binary value), so means, variances and ranks are exact and ties stay ties;
results are float64, converted once. No result field is ever NaN or infinite: what cannot be
computed is None and the result's `notes` say why; `as_dict()` is JSON-ready. Nothing is
rounded here: rounding is for display.

- descriptive: describe, mean_confidence_interval
- design: Observation, CrossoverDesign, ParticipantBlocks, block_means
- crossover: the primary two-sequence analysis and the rank-sum analysis, period-adjusted
- paired: the pilot paper's paired comparison (not period-adjusted)
- mixed: the mixed-model sensitivity analysis
- multiplicity: Holm's adjustment across outcomes
- ranks: the Wilcoxon convention (R's wilcox.test defaults)
- analysis: crossover_analyse, every analysis of one outcome
"""

from scoring.statistics.analysis import CrossoverAnalysis, Exclusion, crossover_analyse
from scoring.statistics.crossover import (
    CARRY_OVER_REASON,
    Contrast,
    RankSumAnalysis,
    TwoSequenceAnalysis,
    rank_sum_analyse,
    two_sequence_analyse,
)
from scoring.statistics.descriptive import Describe, describe, mean_confidence_interval
from scoring.statistics.design import (
    CrossoverDesign,
    Observation,
    ParticipantBlocks,
    block_means,
)
from scoring.statistics.mixed import MixedModelAnalysis, mixed_model_fit
from scoring.statistics.multiplicity import HolmAdjustment, holm_adjust
from scoring.statistics.paired import PairedComparison, paired_compare
from scoring.statistics.ranks import R_CONVENTION

__all__ = [
    "CARRY_OVER_REASON",
    "R_CONVENTION",
    "Contrast",
    "CrossoverAnalysis",
    "CrossoverDesign",
    "Describe",
    "Exclusion",
    "HolmAdjustment",
    "MixedModelAnalysis",
    "Observation",
    "PairedComparison",
    "ParticipantBlocks",
    "RankSumAnalysis",
    "TwoSequenceAnalysis",
    "block_means",
    "crossover_analyse",
    "describe",
    "holm_adjust",
    "mean_confidence_interval",
    "mixed_model_fit",
    "paired_compare",
    "rank_sum_analyse",
    "two_sequence_analyse",
]
