"""The SELECT behind each export kind. PostgreSQL formats the rows itself (COPY ... CSV).

Conventions, for R, SAS, Stata and pandas alike: ISO dates, UTC timestamps with a Z, numeric
codes, empty cell for missing (never 0), text that could start a spreadsheet formula
(= + - @, tab, carriage return) prefixed with an apostrophe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from diary.rules.local_time import utc_iso_sql
from diary.rules.spreadsheet import formula_neutralise_sql
from diary.selectors.questionnaire import instruments_collected
from scoring.engine import ALGORITHM_VERSION

from .columns import score_variables

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Scope:
    """Which rows: one study, optionally some sites, periods and assessment statuses."""

    study_id: int
    site_ids: tuple[int, ...] | None = None
    periods: tuple[int, ...] | None = None
    statuses: tuple[str, ...] | None = None


def ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe column name: {name!r}")
    return f'"{name}"'


text = formula_neutralise_sql
utc = utc_iso_sql


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


# Allocation joins, present only in unblinded exports.
_UNBLINDED_JOINS = """
    JOIN diary_study st ON st.id = p.study_id
    LEFT JOIN diary_allocation al ON al.participant_id = p.id
    LEFT JOIN diary_sequence seq ON seq.id = al.sequence_id
    LEFT JOIN diary_sequenceblock sb ON sb.sequence_id = al.sequence_id
        AND sb.block = (a.period_number - 1) / st.periods_per_block + 1
    LEFT JOIN diary_treatment t ON t.id = sb.treatment_id
"""
_UNBLINDED_COLUMNS = (
    f'{text("seq.code")} AS "sequence", sb.block AS "block", {text("t.code")} AS "treatment"'
)
_CURRENT = "NOT EXISTS (SELECT 1 FROM diary_response c WHERE c.supersedes_id = {r}.id)"


def long_query(study, scope: Scope, *, blinded: bool) -> tuple[str, list[Any]]:
    """One row per participant x period x instrument x item of the current responses."""
    meta_rows, meta_params, label_rows, label_params = [], [], [], []
    for position, (instrument, modules) in enumerate(instruments_collected(study=study)):
        for order, key in enumerate(instrument.item_keys(modules)):
            meta_rows.append("(%s, %s, %s)")
            meta_params += [instrument.key, key, position * 10000 + order]
            for code in instrument.item(key).codes:
                label_rows.append("(%s, %s, %s, %s)")
                label_params += [instrument.key, key, str(code.value), code.label]
    where, where_params = _where(scope)
    sql = f"""
        WITH item_meta(instrument, item, item_order) AS (VALUES {", ".join(meta_rows)}),
             code_labels(instrument, item, code, label) AS (VALUES {", ".join(label_rows)})
        SELECT {text("p.subject_id")} AS "study_id", {text("s.code")} AS "site",
               a.period_number AS "period",
               {_UNBLINDED_COLUMNS + "," if not blinded else ""}
               a.status AS "assessment_status",
               {utc("a.opens_at")} AS "window_opens_at", {utc("a.closes_at")} AS "window_closes_at",
               {utc("r.submitted_at")} AS "submitted_at",
               r.instrument_key AS "instrument", r.instrument_version AS "instrument_version",
               kv.key AS "item", kv.value #>> '{{}}' AS "code", {text("cl.label")} AS "label"
        FROM diary_response r
        JOIN diary_assessment a ON a.id = r.assessment_id
        JOIN diary_participant p ON p.id = a.participant_id
        JOIN diary_site s ON s.id = p.site_id
        {_UNBLINDED_JOINS if not blinded else ""}
        CROSS JOIN LATERAL jsonb_each(r.answers) AS kv
        JOIN item_meta im ON im.instrument = r.instrument_key AND im.item = kv.key
        LEFT JOIN code_labels cl ON cl.instrument = r.instrument_key AND cl.item = kv.key
            AND cl.code = kv.value #>> '{{}}'
        WHERE {where} AND {_CURRENT.format(r="r")}
        ORDER BY p.subject_id, a.period_number, im.item_order
    """
    return sql, meta_params + label_params + where_params


def _response_lateral(alias: str, instrument_key: str) -> tuple[str, list[Any]]:
    return (
        f"""LEFT JOIN LATERAL (
            SELECT r.id, r.answers FROM diary_response r
            WHERE r.assessment_id = a.id AND r.instrument_key = %s AND {_CURRENT.format(r="r")}
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
        SELECT {", ".join(columns)} FROM scoring_score sc
        WHERE sc.response_id = {response_alias}.id AND sc.algorithm_version = %s
    ) {alias} ON true"""
    return sql, [*params, ALGORITHM_VERSION]


def wide_query(study, scope: Scope, *, blinded: bool) -> tuple[str, list[Any]]:
    """One row per participant x period: every item code, every scale score, dates, status."""
    joins, join_params, item_columns, score_columns = [], [], [], []
    select_params: list[Any] = []
    for position, (instrument, modules) in enumerate(instruments_collected(study=study)):
        r_alias, s_alias = f"r{position}", f"s{position}"
        sql, params = _response_lateral(r_alias, instrument.key)
        joins.append(sql)
        join_params += params
        for key in instrument.item_keys(modules):
            item_columns.append(f"{r_alias}.answers ->> %s AS {ident(key)}")
            select_params.append(key)
        scales = [v.name for v in score_variables(instrument, modules) if not v.name.endswith("_n")]
        if scales:
            sql, params = _score_lateral(s_alias, r_alias, scales)
            joins.append(sql)
            join_params += params
            for scale in scales:
                score_columns += [f"{s_alias}.{ident(scale)}", f"{s_alias}.{ident(scale + '_n')}"]
    where, where_params = _where(scope)
    sql = f"""
        SELECT {text("p.subject_id")} AS "study_id", {text("s.code")} AS "site",
               a.period_number AS "period",
               {_UNBLINDED_COLUMNS + "," if not blinded else ""}
               mp.started_on AS "period_started_on", mp.ended_on AS "period_ended_on",
               nxt.started_on - mp.started_on AS "cycle_length_days",
               a.status AS "assessment_status",
               {utc("a.opens_at")} AS "window_opens_at", {utc("a.closes_at")} AS "window_closes_at",
               {utc("a.submitted_at")} AS "submitted_at",
               {", ".join(item_columns)}
               {"," if score_columns else ""} {", ".join(score_columns)}
        FROM diary_assessment a
        JOIN diary_participant p ON p.id = a.participant_id
        JOIN diary_site s ON s.id = p.site_id
        {_UNBLINDED_JOINS if not blinded else ""}
        LEFT JOIN diary_menstrualperiod mp ON mp.id = a.period_id
        LEFT JOIN diary_menstrualperiod nxt ON nxt.participant_id = a.participant_id
            AND nxt.number = a.period_number + 1
        {" ".join(joins)}
        WHERE {where}
        ORDER BY p.subject_id, a.period_number
    """
    return sql, select_params + join_params + where_params


def treatment_means_query(study, scope: Scope) -> tuple[str, list[Any]]:
    """One row per participant x treatment: the per-participant means the paired tests use."""
    scales = [
        scale.key
        for instrument, modules in instruments_collected(study=study)
        for scale in instrument.scales_for(modules)
    ]
    pivots, params = [], []
    for scale in scales:
        pivots.append(f"max(sc.value) FILTER (WHERE sc.scale = %s) AS {ident(scale)}")
        params.append(scale)
    means = ", ".join(f"round(avg(pp.{ident(k)}), 4) AS {ident('mean_' + k)}" for k in scales)
    where, where_params = _where(scope)
    sql = f"""
        WITH per_period AS (
            SELECT p.id AS pid, p.subject_id, s.code AS site, seq.code AS sequence,
                   t.code AS treatment, a.status,
                   nxt.started_on - mp.started_on AS cycle_length,
                   sc_pivot.*
            FROM diary_assessment a
            JOIN diary_participant p ON p.id = a.participant_id
            JOIN diary_site s ON s.id = p.site_id
            {_UNBLINDED_JOINS}
            LEFT JOIN diary_menstrualperiod mp ON mp.id = a.period_id
            LEFT JOIN diary_menstrualperiod nxt ON nxt.participant_id = a.participant_id
                AND nxt.number = a.period_number + 1
            LEFT JOIN LATERAL (
                SELECT {", ".join(pivots)}
                FROM diary_response r JOIN scoring_score sc ON sc.response_id = r.id
                WHERE r.assessment_id = a.id AND a.status = 'submitted'
                  AND sc.algorithm_version = %s AND {_CURRENT.format(r="r")}
            ) sc_pivot ON true
            WHERE {where} AND t.code IS NOT NULL
        )
        SELECT {text("pp.subject_id")} AS "study_id", {text("pp.site")} AS "site",
               {text("pp.sequence")} AS "sequence", {text("pp.treatment")} AS "treatment",
               count(*) FILTER (WHERE pp.status = 'submitted') AS "n_assessments",
               {means},
               round(avg(pp.cycle_length), 4) AS "mean_cycle_length_days"
        FROM per_period pp
        GROUP BY pp.pid, pp.subject_id, pp.site, pp.sequence, pp.treatment
        ORDER BY pp.subject_id, pp.treatment
    """
    return sql, [*params, ALGORITHM_VERSION, *where_params]
