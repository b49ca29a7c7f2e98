"""Every analysis of one outcome together: who is analysed where, the bad-input behaviour (each
method says why it cannot compute, the others still do, nothing is NaN), and Holm's adjustment
against statsmodels."""

from __future__ import annotations

import json
import math

import pytest
from statsmodels.stats.multitest import multipletests

import scoring.statistics.mixed as mixed_module
from scoring.statistics import (
    CrossoverAnalysis,
    crossover_analyse,
    holm_adjust,
    paired_compare,
    two_sequence_analyse,
)
from tests.scoring.statistics_data import DESIGN, assert_json_safe, pilot_like_observations


def test_withdrawals_are_excluded_from_the_block_analyses_and_kept_by_the_mixed_model() -> None:
    rows = pilot_like_observations(seed=6, participants=15, withdrawn=(4, 9),
                                   missing=((1, 2), (2, 5)))  # fmt: skip
    result = crossover_analyse(rows, design=DESIGN, outcome="pain")
    assert result.outcome == "pain" and result.n_observations == len(rows)
    assert result.n_participants == 15 and result.n_by_sequence == {"AP": 8, "PA": 7}
    assert result.n_complete == 13 and result.n_complete_by_sequence == {"AP": 7, "PA": 6}
    assert [(e.participant, e.reason) for e in result.excluded] == [
        ("S004", "no value in the second treatment block"),
        ("S009", "no value in the second treatment block"),
    ]
    assert result.two_sequence.n_a_first + result.two_sequence.n_b_first == 13
    assert result.paired.n_pairs == 13 and result.rank_sum.n_a_first == 7
    assert result.mixed.n_participants == 15 and result.mixed.n_participants_one_treatment == 2
    # The pieces are the standalone functions applied to the same block means.
    assert result.two_sequence == two_sequence_analyse(result.blocks, design=DESIGN)
    pairs = [(r.first, r.second) if r.sequence == "AP" else (r.second, r.first)
             for r in result.blocks if r.complete]  # fmt: skip
    assert result.paired == paired_compare(pairs)
    assert_json_safe(result.as_dict())


def test_as_dict_is_json_with_blocks_as_full_precision_floats() -> None:
    result = crossover_analyse(pilot_like_observations(seed=2, decimals=4), design=DESIGN)
    data = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    first = data["blocks"][0]
    assert set(first) == {"participant", "sequence", "first", "second", "n_first", "n_second"}
    assert first["first"] == float(result.blocks[0].first)
    assert data["two_sequence"]["carry_over_descriptive_only"] is True
    assert data["paired"]["wilcoxon_convention"].startswith("R wilcox.test")


def method_state(result: CrossoverAnalysis) -> dict[str, bool]:
    """Which methods produced their main number."""
    return {
        "two_sequence": result.two_sequence.treatment.p_value is not None,
        "paired": result.paired.t_p_value is not None,
        "rank_sum": result.rank_sum.p_value is not None,
        "mixed": result.mixed.p_value is not None,
    }


def assert_explained(result: CrossoverAnalysis) -> None:
    """Every method without its main number says why; nothing is NaN or infinite."""
    notes = {
        "two_sequence": result.two_sequence.treatment.notes + result.two_sequence.notes,
        "paired": result.paired.notes,
        "rank_sum": result.rank_sum.notes,
        "mixed": result.mixed.notes,
    }
    for method, computed in method_state(result).items():
        assert computed or notes[method], method
    assert_json_safe(result.as_dict())


def test_a_sequence_with_nobody_leaves_the_paired_analysis_computing() -> None:
    rows = [r for r in pilot_like_observations(seed=1) if r[1] == "AP"]
    result = crossover_analyse(rows, design=DESIGN)
    assert method_state(result) == {"two_sequence": False, "paired": True, "rank_sum": False,
                                    "mixed": False}  # fmt: skip
    assert result.n_by_sequence == {"AP": 8, "PA": 0}
    assert any("sequence PA has no participant" in n for n in result.two_sequence.notes)
    assert_explained(result)


def test_too_few_participants_still_describe_what_they_can() -> None:
    rows = [r for r in pilot_like_observations(seed=1) if r[0] in ("S000", "S001")]
    result = crossover_analyse(rows, design=DESIGN)
    assert result.two_sequence.treatment.estimate is not None
    assert result.two_sequence.treatment.p_value is None
    assert result.paired.n_pairs == 2 and result.paired.t_p_value is not None
    assert_explained(result)


def test_no_participant_at_all_gives_notes_everywhere() -> None:
    result = crossover_analyse([], design=DESIGN)
    assert not any(method_state(result).values())
    assert result.n_participants == 0 and result.paired.mean_difference is None
    assert_explained(result)


def test_all_differences_zero() -> None:
    # Each participant scores the same in every period: no treatment or period difference.
    rows = [(p, s, period, t, 10 + int(p[1:])) for p, s, period, t, _
            in pilot_like_observations(seed=1)]  # fmt: skip
    result = crossover_analyse(rows, design=DESIGN)
    assert not any(method_state(result).values())
    assert result.two_sequence.treatment.estimate == 0 and result.paired.mean_difference == 0
    assert result.paired.wilcoxon_p_value is None and result.rank_sum.estimate == 0
    assert_explained(result)


def test_a_non_converging_mixed_model_leaves_the_other_methods_computing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = mixed_module.MixedLM.fit

    def never_converges(self: object, *args: object, **kwargs: object) -> object:
        result = original(self, *args, **kwargs)
        result.converged = False
        return result

    monkeypatch.setattr(mixed_module.MixedLM, "fit", never_converges)
    result = crossover_analyse(pilot_like_observations(seed=1), design=DESIGN)
    assert method_state(result) == {"two_sequence": True, "paired": True, "rank_sum": True,
                                    "mixed": False}  # fmt: skip
    assert any("did not converge" in n for n in result.mixed.notes)
    assert_explained(result)


# Holm


def test_holm_matches_statsmodels_and_keeps_the_keys() -> None:
    p_values = {"pain": 0.012, "control": 0.04, "emotional": 0.5, "social": 0.011,
                "self_image": 0.04, "vas": 0.0001, "cycle": 0.56}  # fmt: skip
    result = holm_adjust(p_values)
    _, adjusted, _, _ = multipletests(list(p_values.values()), method="holm")
    assert result.family_size == 7 and list(result.adjusted) == list(p_values)
    for key, expected in zip(p_values, adjusted, strict=True):
        assert result.adjusted[key] == pytest.approx(expected, rel=1e-12)
    assert result.adjusted["control"] == result.adjusted["self_image"]  # tied p, same adjusted
    assert "Holm" in result.method
    assert_json_safe(result.as_dict())


def test_holm_leaves_missing_p_values_out_of_the_family() -> None:
    result = holm_adjust({"pain": 0.01, "cycle": None, "vas": 0.03})
    assert result.family_size == 2 and result.adjusted["cycle"] is None
    assert result.adjusted == {"pain": 0.02, "cycle": None, "vas": 0.03}
    assert any("cycle" in note for note in result.notes)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf])
def test_holm_rejects_impossible_p_values(bad: float) -> None:
    with pytest.raises(ValueError, match="p-value"):
        holm_adjust({"pain": bad})
