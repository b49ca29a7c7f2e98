"""The CONSORT crossover flow from plain facts (pure: no database)."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction

import pytest

from scoring.statistics.design import ParticipantBlocks
from scoring.statistics.flow import (
    NO_VALUE,
    OTHER_SEQUENCE,
    FlowParticipant,
    OutcomeBlocks,
    flow_build,
)


def person(name, sequence, started=(), completed=(), **more) -> FlowParticipant:
    return FlowParticipant(name, sequence, frozenset(started), frozenset(completed), **more)


def test_no_participants_gives_zero_rows_and_notes_never_nan():
    flow = flow_build([], sequences=("AP", "PA"), number_of_periods=2,
                      outcomes=[OutcomeBlocks("pain", "Pain", ())])  # fmt: skip
    assert flow.count("enrolled") == 0 and flow.count("randomised", "AP") == 0
    assert "Nobody is randomised to sequence AP." in flow.notes
    assert flow.count("analysed", "PA", outcome="pain") == 0
    json.dumps(flow.as_dict(), allow_nan=False)
    # Every stage x sequence row is there, with 0.
    assert len([r for r in flow.rows if r.stage == "period_started"]) == 2 * 2


def test_withdrawal_before_the_first_period_is_period_0_with_its_date():
    gone = person("S1", "AP", withdrawn_on=date(2026, 3, 1), withdrawn_in_period=0)
    flow = flow_build([gone], sequences=("AP", "PA"), number_of_periods=6)
    row = next(r for r in flow.rows if r.stage == "withdrawn" and r.participants)
    assert (row.sequence, row.period, row.dates) == ("AP", 0, (date(2026, 3, 1),))
    assert flow.disposition_table()[3]["label"] == "Withdrew before period 1"


def test_analysis_reasons_come_from_the_block_means():
    blocks = (
        ParticipantBlocks("S1", "AP", Fraction(1), Fraction(2), 3, 3),
        ParticipantBlocks("S2", "AP", None, Fraction(2), 0, 1),
        ParticipantBlocks("S3", "PA", Fraction(5), None, 2, 0),
    )
    people = [person("S1", "AP"), person("S2", "AP"), person("S3", "PA"), person("S4", "PA"),
              person("S5", "XY"), person("S6", None)]  # fmt: skip
    flow = flow_build(people, sequences=("AP", "PA", "XY"), number_of_periods=6,
                      outcomes=[OutcomeBlocks("pain", "Pain", blocks)],
                      analysed_sequences=("AP", "PA"))  # fmt: skip
    assert flow.count("analysed", "AP", outcome="pain") == 1
    assert flow.count("not_analysed", "AP", outcome="pain",
                      reason="no value in the first treatment block") == 1  # fmt: skip
    assert flow.count("not_analysed", "PA", outcome="pain",
                      reason="no value in the second treatment block") == 1  # fmt: skip
    assert flow.count("not_analysed", "PA", outcome="pain", reason=NO_VALUE) == 1
    assert flow.count("not_analysed", "XY", outcome="pain", reason=OTHER_SEQUENCE) == 1
    assert flow.count("analysed_mixed_model", "PA", outcome="pain") == 1
    assert flow.count("not_randomised") == 1


def test_outcomes_without_an_analysis_get_a_note_not_rows():
    flow = flow_build([person("S1", "AP")], sequences=("AP",), number_of_periods=1,
                      outcomes=[OutcomeBlocks("pain", "Pain", None)])  # fmt: skip
    assert not [r for r in flow.rows if r.outcome]
    assert any("Pain: the crossover analyses did not run" in n for n in flow.notes)


def test_a_participant_listed_twice_is_an_error():
    with pytest.raises(ValueError, match="listed twice"):
        flow_build([person("S1", "AP"), person("S1", "AP")], sequences=("AP",),
                   number_of_periods=1)  # fmt: skip
