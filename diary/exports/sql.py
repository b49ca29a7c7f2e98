"""SQL fragments shared by the exports (diary.exports.queries) and the per-arm summaries
(scoring.summaries): the one written form of the allocated treatment, the current response and
the cycle length.

Hand-written SQL because those are COPY exports and set-based summaries over every row of a
study (bench/bench_export.py: the export keeps at least half the speed of a bare COPY of its
SELECT). Table and column names come from the models' _meta; no value is ever written into
the text, every value is a bound parameter of the query that uses a fragment. The database
still enforces what it always does: these fragments only read.

A fragment's joins bring in fixed aliases (named on each function); a query that uses one
does not use those aliases for anything else. Its outputs are SQL expressions by name, which
export columns refer to as $name (diary.exports.columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import connection, models

from diary.models import (
    Allocation,
    ClosingPeriodStart,
    MenstrualPeriod,
    Participant,
    Response,
    Sequence,
    SequenceBlock,
    Study,
    Treatment,
)


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


@dataclass(frozen=True)
class Fragment:
    """Joins to add to a FROM clause, and the expressions they make available."""

    joins: str
    outputs: Mapping[str, str] = field(default_factory=dict)


def allocated_treatment(*, participant: str, period_number: str, outer: bool) -> Fragment:
    """The participant's sequence, the treatment block of the period and the treatment given
    in it: period -> block ((period - 1) / periods per block + 1) -> the sequence's block ->
    treatment. `participant` is the alias of a joined participant row, `period_number` an
    integer expression. `outer`: a participant without allocation keeps her rows (NULLs);
    otherwise she has none.

    Aliases: st, al, seq, sb, t. Outputs: sequence, block, treatment (its code).
    The Python twin is diary.selectors.allocation.period_treatments; a test holds them equal.
    """
    join = "LEFT JOIN" if outer else "JOIN"
    al_sequence = f"al.{column(Allocation, 'sequence')}"
    p_study = f"{participant}.{column(Participant, 'study')}"
    joins = f"""
        JOIN {table(Study)} st ON st.{column(Study, "id")} = {p_study}
        {join} {table(Allocation)} al
            ON al.{column(Allocation, "participant")} = {participant}.{column(Participant, "id")}
        {join} {table(Sequence)} seq ON seq.{column(Sequence, "id")} = {al_sequence}
        {join} {table(SequenceBlock)} sb ON sb.{column(SequenceBlock, "sequence")} = {al_sequence}
            AND sb.{column(SequenceBlock, "block")}
                = ({period_number} - 1) / st.{column(Study, "periods_per_block")} + 1
        {join} {table(Treatment)} t
            ON t.{column(Treatment, "id")} = sb.{column(SequenceBlock, "treatment")}
    """
    return Fragment(
        joins,
        {
            "sequence": f"seq.{column(Sequence, 'code')}",
            "block": f"sb.{column(SequenceBlock, 'block')}",
            "treatment": f"t.{column(Treatment, 'code')}",
        },
    )


def withdrawal_period(*, participant: str) -> str:
    """The period in which the participant `participant` (an alias, or the table's quoted name
    when it is the ORM's outer row) withdrew: the one in progress then, that is the highest
    number of her reported periods that started on or before the day of her withdrawal on her
    own calendar (Participant.time_zone); 0 when she withdrew before her first period started;
    NULL when she has not withdrawn. One rule for every export and the flow of participants."""
    pid = f"{participant}.{column(Participant, 'id')}"
    withdrawn_at = f"{participant}.{column(Participant, 'withdrawn_at')}"
    time_zone = f"{participant}.{column(Participant, 'time_zone')}"
    local_day = f"({withdrawn_at} AT TIME ZONE {time_zone})::date"
    number, started = column(MenstrualPeriod, "number"), column(MenstrualPeriod, "started_on")
    return (
        f"CASE WHEN {withdrawn_at} IS NULL THEN NULL ELSE"
        f" (SELECT coalesce(max(wp.{number}), 0) FROM {table(MenstrualPeriod)} wp"
        f" WHERE wp.{column(MenstrualPeriod, 'participant')} = {pid}"
        f" AND wp.{started} <= {local_day}) END"
    )


def participant_course(*, participant: str) -> Fragment:
    """Where the participant `participant` (an alias of a joined participant row) stands in the
    trial: her status, when she was randomised and when and in which period she withdrew.
    None of it depends on the arm, so blinded files carry it too: the randomisation time is
    read from the allocation row, never its sequence.

    The period in which she withdrew: withdrawal_period.

    Aliases: ra, wp. Outputs: participant_status, randomised_at, withdrawn_at,
    withdrawal_period.
    """
    pid = f"{participant}.{column(Participant, 'id')}"
    withdrawn_at = f"{participant}.{column(Participant, 'withdrawn_at')}"
    joins = f"""
        LEFT JOIN {table(Allocation)} ra ON ra.{column(Allocation, "participant")} = {pid}
    """
    return Fragment(
        joins,
        {
            "participant_status": f"{participant}.{column(Participant, 'status')}",
            "randomised_at": f"ra.{column(Allocation, 'allocated_at')}",
            "withdrawn_at": withdrawn_at,
            "withdrawal_period": withdrawal_period(participant=participant),
        },
    )


def current_response(response: str) -> str:
    """A condition: the response `response` (an alias) is current, that is not superseded by a
    correction. Corrections chain, so the current one is the one nothing supersedes."""
    return (
        f"NOT EXISTS (SELECT 1 FROM {table(Response)} c"
        f" WHERE c.{column(Response, 'supersedes')} = {response}.{column(Response, 'id')})"
    )


def reported_period(
    *, period_id: str, participant_id: str, period_number: str, outer: bool
) -> Fragment:
    """The reported period an assessment follows (`period_id`) and the start of the period
    after it, for the period's dates and its cycle length: the days from its start to the next
    one's. The next start is period number + 1's, or, after the study's last period, the
    closing start she reported (ClosingPeriodStart: no questionnaire follows it), so that
    every period can have a cycle length. `outer`: rows without them keep NULLs; otherwise
    they are dropped.

    Aliases: mp, nxt. Outputs: period_started_on, period_ended_on, cycle_length_days.
    """
    join = "LEFT JOIN" if outer else "JOIN"
    started, number = column(MenstrualPeriod, "started_on"), column(MenstrualPeriod, "number")
    # At most one of the two rows exists: period numbers stop at the study's last period, and
    # a closing start follows only that one (both enforced by triggers).
    joins = f"""
        {join} {table(MenstrualPeriod)} mp ON mp.{column(MenstrualPeriod, "id")} = {period_id}
        {join} LATERAL (
            SELECT n.{started} AS started_on FROM {table(MenstrualPeriod)} n
            WHERE n.{column(MenstrualPeriod, "participant")} = {participant_id}
              AND n.{number} = {period_number} + 1
            UNION ALL
            SELECT c.{column(ClosingPeriodStart, "started_on")} FROM {table(ClosingPeriodStart)} c
            WHERE c.{column(ClosingPeriodStart, "participant")} = {participant_id}
              AND c.{column(ClosingPeriodStart, "follows_number")} = {period_number}
        ) nxt ON true
    """
    return Fragment(
        joins,
        {
            "period_started_on": f"mp.{started}",
            "period_ended_on": f"mp.{column(MenstrualPeriod, 'ended_on')}",
            "cycle_length_days": f"nxt.started_on - mp.{started}",
        },
    )


def score_exact(*, value: str, answered: str, percent_of_max: bool, max_code: str = "%s") -> str:
    """The engine's exact scale score as a NUMERIC with 30 decimals, from the stored 4-decimal
    copy `value` and `answered` (the score row's items answered). `max_code` is the scale's
    highest item code (only when percent_of_max): an SQL expression, by default a bound
    parameter (given twice).

    A percent-of-max score is 100 * total / (max code * answered) with an integer total
    (scoring.engine.scale_score); the stored copy is within 0.00005 of it, so rounding
    value * max code * answered / 100 recovers the total. A value scale is stored exactly.
    The Python twin is scoring.summaries._score_exact; tests/exports hold them equal.
    """
    if not percent_of_max:
        return f"({value})::numeric(60, 30)"
    denominator = f"({max_code} * {answered})"
    return f"(round({value} * {denominator} / 100) * 100)::numeric(60, 30) / {denominator}"
