"""The flow of participants through a two-sequence crossover, after the CONSORT 2010
extension for randomised crossover trials (Dwan et al., BMJ 2019;366:l4378, item 13 and its
flow diagram): enrolled, randomised per sequence, started and completed each period,
withdrawn (with the period and the date), the last cycle closed, and analysed per outcome and
why not.

Pure: no Django, no clock. Built from one fact per participant (FlowParticipant) and, per
outcome, the block means the analyses used (scoring.statistics.design.ParticipantBlocks), so
that "analysed" here is exactly who the analyses took. Counts only: integers, never NaN.

The counts are per sequence, so they are unblinded information.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from scoring.statistics.design import ParticipantBlocks

# Stages in reading order, with what each counts (the data dictionary and the page say it).
STAGES: dict[str, str] = {
    "enrolled": "participants enrolled (all; sequence empty)",
    "not_randomised": "enrolled but not randomised (sequence empty)",
    "randomised": "randomised to the sequence",
    "period_started": "reported the start of the period",
    "period_completed": "submitted the period's questionnaire",
    "withdrawn": "withdrew while this was her last period started (period 0: before her "
    "first period); dates: the withdrawal dates (UTC), ISO, separated by '; '",
    "cycle_closed": "reported the start of her next period after the last one, so that the "
    "last period has a cycle length",
    "analysed": "in the two-sequence, paired and rank-sum analyses of the outcome (values in "
    "both treatment blocks)",
    "analysed_mixed_model": "in the mixed model of the outcome (at least one value)",
    "not_analysed": "left out of the two-sequence, paired and rank-sum analyses, with the reason",
}
ANALYSIS_STAGES = ("analysed", "analysed_mixed_model", "not_analysed")
NO_VALUE = "no value of this outcome"
OTHER_SEQUENCE = "sequence not in the two-sequence design"


class FlowParticipant(NamedTuple):
    """One participant's facts: her sequence (None: not randomised), the periods whose start
    she reported and whose questionnaire she submitted, her withdrawal (the date and the last
    period she had started by then: 0 before the first) and whether she closed the last
    cycle."""

    participant: str
    sequence: str | None
    started: frozenset[int]
    completed: frozenset[int]
    withdrawn_on: date | None = None
    withdrawn_in_period: int | None = None
    cycle_closed: bool = False


class OutcomeBlocks(NamedTuple):
    """One outcome and the block means its crossover analyses used (None: they did not run)."""

    outcome: str
    label: str
    blocks: tuple[ParticipantBlocks, ...] | None


class FlowRow(NamedTuple):
    stage: str
    sequence: str  # a sequence code; "" for all (enrolled) or not randomised
    participants: int
    period: int | None = None
    outcome: str = ""
    reason: str = ""
    dates: tuple[date, ...] = ()


class Withdrawal(NamedTuple):
    participant: str
    sequence: str  # "" when not randomised
    period: int  # her last period started when she withdrew; 0: before the first
    withdrawn_on: date


@dataclass(frozen=True)
class Flow:
    sequences: tuple[str, ...]
    number_of_periods: int
    rows: tuple[FlowRow, ...]
    withdrawals: tuple[Withdrawal, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    outcome_labels: dict[str, str] = field(default_factory=dict)

    def count(
        self,
        stage: str,
        sequence: str = "",
        *,
        period: int | None = None,
        outcome: str = "",
        reason: str = "",
    ) -> int:
        """The participants of one row; 0 when the flow has no such row."""
        for row in self.rows:
            if (row.stage, row.sequence, row.period, row.outcome, row.reason) == (
                stage,
                sequence,
                period,
                outcome,
                reason,
            ):
                return row.participants
        return 0  # fmt: skip

    def table(self, stages: Iterable[str]) -> list[dict[str, Any]]:
        """Rows of the given stages as one line per stage x period x outcome x reason, with
        its label, the count of each sequence (None for a stage not counted by sequence) and
        the total: for the page's tables."""
        lines: dict[tuple, dict[str, Any]] = {}
        wanted = set(stages)
        for row in self.rows:
            if row.stage not in wanted:
                continue
            key = (row.stage, row.period, row.outcome, row.reason)
            line = lines.setdefault(key, {
                "stage": row.stage, "period": row.period, "outcome": row.outcome,
                "reason": row.reason, "label": self._label(row),
                "counts": dict.fromkeys(self.sequences), "total": 0,
            })  # fmt: skip
            if row.sequence in line["counts"]:
                line["counts"][row.sequence] = row.participants
            line["total"] += row.participants
        for line in lines.values():
            line["counts"] = [line["counts"][s] for s in self.sequences]
        return list(lines.values())

    def disposition_table(self) -> list[dict[str, Any]]:
        """Enrolment, allocation and follow-up (everything but the analysis stages)."""
        return self.table(s for s in STAGES if s not in ANALYSIS_STAGES)

    def analysis_table(self) -> list[dict[str, Any]]:
        """Who is analysed per outcome, and why not."""
        return self.table(ANALYSIS_STAGES)

    def _label(self, row: FlowRow) -> str:
        outcome = self.outcome_labels.get(row.outcome, row.outcome)
        return {
            "enrolled": "Enrolled",
            "not_randomised": "Not randomised",
            "randomised": "Randomised",
            "period_started": f"Started period {row.period}",
            "period_completed": f"Completed period {row.period} (questionnaire submitted)",
            "withdrawn": "Withdrew before period 1"
            if row.period == 0
            else f"Withdrew in period {row.period}",
            "cycle_closed": f"Reported the start of the next period after period {row.period} "
            "(last cycle closed)",
            "analysed": f"{outcome}: analysed (values in both treatment blocks)",
            "analysed_mixed_model": f"{outcome}: in the mixed model (at least one value)",
            "not_analysed": f"{outcome}: not analysed, {row.reason}",
        }[row.stage]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sequences": list(self.sequences),
            "number_of_periods": self.number_of_periods,
            "stages": STAGES,
            "rows": [
                {**row._asdict(), "dates": [d.isoformat() for d in row.dates]} for row in self.rows
            ],
            "withdrawals": [
                {**w._asdict(), "withdrawn_on": w.withdrawn_on.isoformat()}
                for w in self.withdrawals
            ],
            "notes": list(self.notes),
            "outcome_labels": self.outcome_labels,
        }


def flow_build(
    participants: Iterable[FlowParticipant],
    *,
    sequences: Sequence[str],
    number_of_periods: int,
    outcomes: Iterable[OutcomeBlocks] = (),
    analysed_sequences: Sequence[str] | None = None,
) -> Flow:
    """The flow, one row per stage x sequence (x period, outcome, reason where they apply).

    Every sequence gets every row, with 0 when nobody is in it (a note says so). A participant
    of a sequence outside `sequences` is counted as randomised, with a note, and not followed.
    `analysed_sequences` (default: all) are those the crossover analyses take; everyone of
    another sequence is not analysed, for that reason. ValueError when a participant is
    listed twice.
    """
    people = list(participants)
    names = [p.participant for p in people]
    if len(set(names)) != len(names):
        raise ValueError("a participant is listed twice")
    sequences = tuple(sequences)
    notes: list[str] = []
    randomised = [p for p in people if p.sequence is not None]
    rows = [
        FlowRow("enrolled", "", len(people)),
        FlowRow("not_randomised", "", len(people) - len(randomised)),
    ]
    by_sequence = {s: [p for p in randomised if p.sequence == s] for s in sequences}
    others = sorted({p.sequence for p in randomised if p.sequence not in by_sequence})
    rows += [FlowRow("randomised", s, len(by_sequence[s])) for s in sequences]
    rows += [FlowRow("randomised", s, sum(p.sequence == s for p in randomised)) for s in others]
    if others:
        notes.append(f"Participants of sequence(s) {', '.join(others)} are counted as "
                     "randomised but not followed: the design has no such sequence.")  # fmt: skip
    for s in sequences:
        if not by_sequence[s]:
            notes.append(f"Nobody is randomised to sequence {s}.")
    if len(people) > len(randomised):
        notes.append(f"{len(people) - len(randomised)} enrolled participant(s) are not "
                     "randomised and are not followed past enrolment.")  # fmt: skip
    for period in range(0, number_of_periods + 1):
        for s in sequences:
            group = by_sequence[s]
            if period:
                started = sum(period in p.started for p in group)
                completed = sum(period in p.completed for p in group)
                rows.append(FlowRow("period_started", s, started, period=period))
                rows.append(FlowRow("period_completed", s, completed, period=period))
            gone = sorted(
                p.withdrawn_on
                for p in group
                if p.withdrawn_on is not None and p.withdrawn_in_period == period
            )
            rows.append(FlowRow("withdrawn", s, len(gone), period=period, dates=tuple(gone)))
    rows += [FlowRow("cycle_closed", s, sum(p.cycle_closed for p in by_sequence[s]),
                     period=number_of_periods) for s in sequences]  # fmt: skip
    outcomes = list(outcomes)
    for outcome in outcomes:
        if outcome.blocks is None:
            notes.append(f"{outcome.label}: the crossover analyses did not run, so the flow "
                         "has no analysis rows for it.")  # fmt: skip
        else:
            analysed = set(sequences if analysed_sequences is None else analysed_sequences)
            rows += _outcome_rows(outcome, by_sequence, analysed)
    withdrawals = tuple(sorted(
        (Withdrawal(p.participant, p.sequence or "", p.withdrawn_in_period or 0, p.withdrawn_on)
         for p in people if p.withdrawn_on is not None),
        key=lambda w: (w.withdrawn_on, w.participant),
    ))  # fmt: skip
    labels = {o.outcome: o.label for o in outcomes}
    return Flow(sequences, number_of_periods, tuple(rows), withdrawals, tuple(notes), labels)


def _outcome_rows(
    outcome: OutcomeBlocks, by_sequence: dict[str, list[FlowParticipant]], analysed: set[str]
) -> list[FlowRow]:
    blocks = {row.participant: row for row in outcome.blocks or ()}
    # The reasons crossover_analyse gives its exclusions (scoring.statistics.analysis).
    rows: list[FlowRow] = []
    reasons = ("no value in the first treatment block", "no value in the second treatment block",
               NO_VALUE)  # fmt: skip
    for s, group in by_sequence.items():
        if s not in analysed:
            rows += [FlowRow("analysed", s, 0, outcome=outcome.outcome),
                     FlowRow("analysed_mixed_model", s, 0, outcome=outcome.outcome),
                     FlowRow("not_analysed", s, len(group), outcome=outcome.outcome,
                             reason=OTHER_SEQUENCE)]  # fmt: skip
            continue
        mine = [blocks.get(p.participant) for p in group]
        rows.append(FlowRow("analysed", s, sum(b is not None and b.complete for b in mine),
                            outcome=outcome.outcome))  # fmt: skip
        rows.append(FlowRow("analysed_mixed_model", s, sum(b is not None for b in mine),
                            outcome=outcome.outcome))  # fmt: skip
        why = [
            NO_VALUE if b is None else reasons[0] if b.first is None else reasons[1]
            for b in mine if b is None or not b.complete
        ]  # fmt: skip
        rows += [FlowRow("not_analysed", s, why.count(r), outcome=outcome.outcome, reason=r)
                 for r in reasons]  # fmt: skip
    return rows
