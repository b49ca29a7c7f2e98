"""The SELECT behind each export kind. PostgreSQL formats the rows itself (COPY ... CSV).

Conventions, for R, SAS, Stata and pandas alike: ISO dates, UTC timestamps with a Z, numeric
codes, empty cell for missing (never 0), text that could start a spreadsheet formula
(diary.rules.spreadsheet) prefixed with an apostrophe.

Hand-written SQL, because these are the COPY exports (bench/bench_export.py). The select list
is the kind's columns (diary.exports.columns), so the header is the dictionary's; the FROM
clause gives them the aliases they are written against, with the shared fragments of
diary.exports.sql. Every value is a bound parameter; names are checked identifiers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import Any

from diary.exports.columns import (
    PARTICIPANT,
    Column,
    analysis_outcomes,
    ident,
    kind_columns,
    response_alias,
    score_alias,
    scored_scales,
)
from diary.exports.sql import (
    Fragment,
    allocated_treatment,
    current_response,
    participant_course,
    reported_period,
    score_exact,
    table,
)
from diary.models import Assessment, Participant, Response, Site, Study
from diary.selectors.questionnaire import instruments_collected
from scoring.engine import ALGORITHM_VERSION
from scoring.models import Score


@dataclass(frozen=True)
class Scope:
    """Which rows: one study, optionally some sites, periods and assessment statuses."""

    study_id: int
    site_ids: tuple[int, ...] | None = None
    periods: tuple[int, ...] | None = None
    statuses: tuple[str, ...] | None = None


def _where(scope: Scope) -> tuple[str, list[Any]]:
    clauses, params = ["p.study_id = %s"], [scope.study_id]
    if scope.site_ids is not None:
        clauses.append("p.site_id = ANY(%s)")
        params.append(list(scope.site_ids))
    if scope.periods:
        clauses.append("a.period_number = ANY(%s)")
        params.append(list(scope.periods))
    if scope.statuses:
        clauses.append("a.status = ANY(%s)")
        params.append(list(scope.statuses))
    return " AND ".join(clauses), params


def _select(columns: list[Column], outputs: Mapping[str, str]) -> tuple[str, list[Any]]:
    """The select list of `columns` with the fragments' outputs in place of their $names.

    A column naming an output no fragment of this query provides raises KeyError: an
    allocation column in a blinded query cannot be built.
    """
    sql = ",\n               ".join(Template(c.select()).substitute(outputs) for c in columns)
    return sql, [param for c in columns for param in c.params]


def _allocation(blinded: bool) -> Fragment:
    """Allocation joins, present only in unblinded exports."""
    if blinded:
        return Fragment("")
    return allocated_treatment(participant="p", period_number="a.period_number", outer=True)


def _periods() -> Fragment:
    return reported_period(
        period_id="a.period_id",
        participant_id="a.participant_id",
        period_number="a.period_number",
        outer=True,
    )


def _base() -> str:
    return f"""JOIN {table(Participant)} p ON p.id = a.participant_id
        JOIN {table(Site)} s ON s.id = p.site_id"""


def _course() -> Fragment:
    """Status, randomisation and withdrawal of the participant p: in every file."""
    return participant_course(participant="p")


def long_query(study: Study, scope: Scope, *, blinded: bool) -> tuple[str, list[Any]]:
    """One row per participant x period x instrument x item of the current responses."""
    meta_rows, meta_params, label_rows, label_params = [], [], [], []
    for position, (instrument, modules) in enumerate(instruments_collected(study=study)):
        for order, key in enumerate(instrument.item_keys(modules)):
            meta_rows.append("(%s, %s, %s)")
            meta_params += [instrument.key, key, position * 10000 + order]
            for code in instrument.item(key).codes:
                label_rows.append("(%s, %s, %s, %s)")
                label_params += [instrument.key, key, str(code.value), code.label]
    allocation, course = _allocation(blinded), _course()
    select, select_params = _select(
        kind_columns("long", (), blinded=blinded), {**allocation.outputs, **course.outputs}
    )
    where, where_params = _where(scope)
    sql = f"""
        WITH item_meta(instrument, item, item_order) AS (VALUES {", ".join(meta_rows)}),
             code_labels(instrument, item, code, label) AS (VALUES {", ".join(label_rows)})
        SELECT {select}
        FROM {table(Response)} r
        JOIN {table(Assessment)} a ON a.id = r.assessment_id
        {_base()}
        {allocation.joins}
        {course.joins}
        CROSS JOIN LATERAL jsonb_each(r.answers) AS kv
        JOIN item_meta im ON im.instrument = r.instrument_key AND im.item = kv.key
        LEFT JOIN code_labels cl ON cl.instrument = r.instrument_key AND cl.item = kv.key
            AND cl.code = kv.value #>> '{{}}'
        WHERE {where} AND {current_response("r")}
        ORDER BY p.subject_id, a.period_number, im.item_order
    """
    return sql, meta_params + label_params + select_params + where_params


def _response_lateral(alias: str, instrument_key: str) -> tuple[str, list[Any]]:
    return (
        f"""LEFT JOIN LATERAL (
            SELECT r.id, r.answers FROM {table(Response)} r
            WHERE r.assessment_id = a.id AND r.instrument_key = %s AND {current_response("r")}
        ) {alias} ON true""",
        [instrument_key],
    )


def _score_lateral(alias: str, response_alias: str, scales: list[str]) -> tuple[str, list[Any]]:
    columns, params = [], []
    for scale in scales:
        columns.append(f"max(sc.value) FILTER (WHERE sc.scale = %s) AS {ident(scale)}")
        columns.append(
            f"max(sc.items_answered) FILTER (WHERE sc.scale = %s) AS {ident(scale + '_n')}"
        )
        params += [scale, scale]
    sql = f"""LEFT JOIN LATERAL (
        SELECT {", ".join(columns)} FROM {table(Score)} sc
        WHERE sc.response_id = {response_alias}.id AND sc.algorithm_version = %s
    ) {alias} ON true"""
    return sql, [*params, ALGORITHM_VERSION]


def wide_query(study: Study, scope: Scope, *, blinded: bool) -> tuple[str, list[Any]]:
    """One row per participant x period: every item code, every scale score, dates, status."""
    collected = instruments_collected(study=study)
    joins, join_params = [], []
    for position, (instrument, modules) in enumerate(collected):
        sql, params = _response_lateral(response_alias(position), instrument.key)
        joins.append(sql)
        join_params += params
        scales = [scale.key for scale in scored_scales(instrument, modules)]
        if scales:
            sql, params = _score_lateral(score_alias(position), response_alias(position), scales)
            joins.append(sql)
            join_params += params
    allocation, periods, course = _allocation(blinded), _periods(), _course()
    select, select_params = _select(
        kind_columns("wide", collected, blinded=blinded),
        {**allocation.outputs, **periods.outputs, **course.outputs},
    )
    where, where_params = _where(scope)
    sql = f"""
        SELECT {select}
        FROM {table(Assessment)} a
        {_base()}
        {allocation.joins}
        {periods.joins}
        {course.joins}
        {" ".join(joins)}
        WHERE {where}
        ORDER BY p.subject_id, a.period_number
    """
    return sql, select_params + join_params + where_params


def treatment_means_query(study: Study, scope: Scope) -> tuple[str, list[Any]]:
    """One row per participant x treatment: the per-participant means the paired tests use."""
    collected = instruments_collected(study=study)
    # Exact scores (diary.exports.sql.score_exact), not the 4-decimal stored copies, so that
    # the means reproduce the per-arm summary's (scoring.summaries) to full precision.
    pivots, params = [], []
    for instrument, modules in collected:
        for scale in instrument.scales_for(modules):
            percent = scale.method != "value"
            exact = score_exact(value="sc.value", answered="sc.items_answered",
                                percent_of_max=percent)  # fmt: skip
            pivots.append(f"max({exact}) FILTER (WHERE sc.scale = %s) AS {ident(scale.key)}")
            max_code = instrument.item(scale.items[0]).max_value
            params += [max_code, max_code, scale.key] if percent else [scale.key]
    allocation = allocated_treatment(participant="p", period_number="a.period_number", outer=True)
    periods, course = _periods(), _course()
    out = {**allocation.outputs, **periods.outputs}
    # The participant columns are per_period's columns of their own name.
    names = [column.name for column in PARTICIPANT]
    select, select_params = _select(
        kind_columns("treatment_means", collected, blinded=False),
        {name: f"pp.{ident(name)}" for name in names},
    )
    where, where_params = _where(scope)
    sql = f"""
        WITH per_period AS (
            SELECT p.id AS pid, p.subject_id, s.code AS site,
                   {", ".join(f"{course.outputs[n]} AS {ident(n)}" for n in names)},
                   {out["sequence"]} AS sequence,
                   {out["treatment"]} AS treatment, a.status,
                   {out["cycle_length_days"]} AS cycle_length,
                   sc_pivot.*
            FROM {table(Assessment)} a
            {_base()}
            {allocation.joins}
            {periods.joins}
            {course.joins}
            LEFT JOIN LATERAL (
                SELECT {", ".join(pivots)}
                FROM {table(Response)} r JOIN {table(Score)} sc ON sc.response_id = r.id
                WHERE r.assessment_id = a.id AND a.status = 'submitted'
                  AND sc.algorithm_version = %s AND {current_response("r")}
            ) sc_pivot ON true
            WHERE {where} AND {out["treatment"]} IS NOT NULL
        )
        SELECT {select}
        FROM per_period pp
        GROUP BY pp.pid, pp.subject_id, pp.site, {", ".join(f"pp.{ident(n)}" for n in names)},
                 pp.sequence, pp.treatment
        ORDER BY pp.subject_id, pp.treatment
    """
    return sql, [*params, ALGORITHM_VERSION, *where_params, *select_params]


def analysis_query(study: Study, scope: Scope) -> tuple[str, list[Any]]:
    """One row per participant x period x outcome (unblinded only): every assessment of every
    randomised participant, each outcome of the per-arm summary with its exact value, the
    period's sequence, block and treatment, and how many items the score used.

    The values are the summary's own (scoring.summaries): a scale's exact score
    (diary.exports.sql.score_exact) of the current response of a submitted assessment, and
    the cycle length of the period whatever the assessment's status. A missing one is NULL
    (an empty cell), never 0.
    """
    collected = instruments_collected(study=study)
    outcomes = analysis_outcomes(collected)
    outcome_rows = ["(%s, %s::integer, %s, %s::integer)"] * len(outcomes)
    outcome_params = [
        value
        for position, o in enumerate(outcomes)
        for value in (o.key, position, o.instrument, o.max_code)
    ]
    allocation = allocated_treatment(participant="p", period_number="a.period_number", outer=False)
    periods, course = _periods(), _course()
    exact = score_exact(value="sv.value", answered="sv.items_answered", percent_of_max=True,
                        max_code="o.max_code")  # fmt: skip
    cycle = periods.outputs["cycle_length_days"]
    value = f"""CASE WHEN o.instrument IS NULL THEN ({cycle})::numeric
                     WHEN o.max_code IS NULL THEN (sv.value)::numeric(60, 30)
                     ELSE {exact} END"""
    outputs = {
        **allocation.outputs,
        **course.outputs,
        "outcome": "o.outcome",
        "outcome_value": value,
        "n_items": "sv.items_answered",
        "n_items_in_scale": "sv.items_in_scale",
    }
    select, select_params = _select(kind_columns("analysis", collected, blinded=False), outputs)
    where, where_params = _where(scope)
    sql = f"""
        WITH outcomes(outcome, position, instrument, max_code) AS (
            VALUES {", ".join(outcome_rows)}
        )
        SELECT {select}
        FROM {table(Assessment)} a
        {_base()}
        {allocation.joins}
        {periods.joins}
        {course.joins}
        CROSS JOIN outcomes o
        LEFT JOIN LATERAL (
            SELECT sc.value, sc.items_answered, sc.items_in_scale
            FROM {table(Response)} r JOIN {table(Score)} sc ON sc.response_id = r.id
            WHERE r.assessment_id = a.id AND a.status = 'submitted'
              AND r.instrument_key = o.instrument AND sc.scale = o.outcome
              AND sc.algorithm_version = %s AND {current_response("r")}
        ) sv ON true
        WHERE {where}
        ORDER BY p.subject_id, a.period_number, o.position
    """
    return sql, [*outcome_params, *select_params, ALGORITHM_VERSION, *where_params]


# Each file kind's SELECT (the dictionary is built in Python: diary.services.exports).
def kind_query(kind: str, study: Study, scope: Scope, *, blinded: bool) -> tuple[str, list[Any]]:
    """The SELECT of a file of `kind`; ValueError for the dictionary, an unknown kind or an
    unblinded-only kind asked for blinded (the caller, diary.services.exports.export_scope,
    refuses those first)."""
    if kind == "long":
        return long_query(study, scope, blinded=blinded)
    if kind == "wide":
        return wide_query(study, scope, blinded=blinded)
    if kind == "treatment_means" and not blinded:
        return treatment_means_query(study, scope)
    if kind == "analysis" and not blinded:
        return analysis_query(study, scope)
    raise ValueError(f"no {'blinded ' if blinded else ''}{kind} query")
