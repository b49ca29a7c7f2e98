"""The SELECT behind each SDTM dataset, and the trial design's rows.

Hand-written SQL, as the CSV exports' (diary.exports.queries, bench/bench_export.py): QS is
the largest file of a study (one record per item answer and per score), written by PostgreSQL
itself or read through a server-side cursor, never built in Python. The select list is the
dataset's variables (diary.exports.sdtm.domains), so the header is define.xml's. Every value
is a bound parameter; names are checked identifiers. One query per dataset whatever the size
of the study; the trial design (TA, TE) is two small queries of the study's design.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import Any

from diary.exports.queries import Scope
from diary.exports.sdtm.domains import (
    BLINDED_ARM,
    BLINDED_ARMCD,
    DM,
    FA,
    QS,
    SE,
    SV,
    TA,
    TE,
    TEENRL,
    TESTRL,
    Dataset,
    blinded_element,
    epoch_name,
    quoted,
)
from diary.exports.sql import (
    Fragment,
    allocated_treatment,
    column,
    current_response,
    reported_period,
    table,
)
from diary.models import (
    Allocation,
    Assessment,
    ClosingPeriodStart,
    MenstrualPeriod,
    Participant,
    Response,
    Sequence,
    SequenceBlock,
    Site,
    Study,
    Treatment,
)
from diary.selectors.questionnaire import instruments_collected
from scoring.engine import ALGORITHM_VERSION
from scoring.models import Score
from scoring.sdtm_mapping import Mapping as SdtmMapping
from scoring.sdtm_mapping import mapping_get


def study_mappings(study: Study) -> list[tuple[SdtmMapping, tuple[str, ...]]]:
    """The SDTM mapping of each instrument the study collects, with its modules."""
    return [
        (mapping_get(instrument.key, instrument.version), modules)
        for instrument, modules in instruments_collected(study=study)
    ]


def _select(dataset: Dataset, outputs: Mapping[str, str], *, blinded: bool) -> str:
    """The select list; a variable naming an output this query lacks raises KeyError, so an
    allocation output in a blinded query cannot be built."""
    return ",\n               ".join(
        f"{Template(v.expression(blinded=blinded)).substitute(outputs)} AS {quoted(v.name)}"
        for v in dataset.variables
    )


def _participants(scope: Scope) -> tuple[str, list[Any]]:
    clauses, params = ["p.study_id = %s"], [scope.study_id]
    if scope.site_ids is not None:
        clauses.append("p.site_id = ANY(%s)")
        params.append(list(scope.site_ids))
    return " AND ".join(clauses), params


def _assessments(scope: Scope, *, number: str = "a.period_number") -> tuple[str, list[Any]]:
    where, params = _participants(scope)
    if scope.periods:
        where += f" AND {number} = ANY(%s)"
        params.append(list(scope.periods))
    if scope.statuses and number == "a.period_number":
        where += " AND a.status = ANY(%s)"
        params.append(list(scope.statuses))
    return where, params


def _base(participant_of: str) -> str:
    return f"""JOIN {table(Participant)} p ON p.id = {participant_of}
        JOIN {table(Site)} s ON s.id = p.site_id
        JOIN {table(Study)} sy ON sy.id = p.study_id"""


def _arm(blinded: bool) -> Fragment:
    """The participant's arm: her sequence's code and its treatments' names by block. Only
    unblinded queries join it; both know whether she was randomised (the allocation row's
    existence, which every blinded file already shows as randomised_at)."""
    joins = f"LEFT JOIN {table(Allocation)} ra ON ra.{column(Allocation, 'participant')} = p.id"
    outputs = {"randomised": "(ra.id IS NOT NULL)"}
    if not blinded:
        joins += f"""
        LEFT JOIN LATERAL (
            SELECT seq.{column(Sequence, "code")} AS armcd,
                   string_agg(t.{column(Treatment, "name")}, ' / '
                              ORDER BY sb.{column(SequenceBlock, "block")}) AS arm
            FROM {table(Sequence)} seq
            JOIN {table(SequenceBlock)} sb ON sb.{column(SequenceBlock, "sequence")} = seq.id
            JOIN {table(Treatment)} t ON t.id = sb.{column(SequenceBlock, "treatment")}
            WHERE seq.id = ra.{column(Allocation, "sequence")}
            GROUP BY seq.{column(Sequence, "code")}
        ) arm ON true"""
        outputs |= {"armcd": "arm.armcd", "arm": "arm.arm"}
    return Fragment(joins, outputs)


def dm_query(study: Study, scope: Scope, *, blinded: bool) -> tuple[str, list[Any]]:
    """One record per participant of the scope's sites."""
    arm = _arm(blinded)
    started = column(MenstrualPeriod, "started_on")
    reference = f"""LEFT JOIN LATERAL (
            SELECT min(d.started_on) AS first_start, max(d.started_on) AS last_start FROM (
                SELECT rp.{started} AS started_on FROM {table(MenstrualPeriod)} rp
                WHERE rp.{column(MenstrualPeriod, "participant")} = p.id
                UNION ALL
                SELECT rc.{column(ClosingPeriodStart, "started_on")}
                FROM {table(ClosingPeriodStart)} rc
                WHERE rc.{column(ClosingPeriodStart, "participant")} = p.id
            ) d
        ) rf ON true"""
    outputs = {**arm.outputs, "first_start": "rf.first_start", "last_start": "rf.last_start"}
    where, params = _participants(scope)
    sql = f"""
        SELECT {_select(DM, outputs, blinded=blinded)}
        FROM {table(Participant)} p
        JOIN {table(Site)} s ON s.id = p.site_id
        JOIN {table(Study)} sy ON sy.id = p.study_id
        {arm.joins}
        {reference}
        WHERE {where}
        ORDER BY p.subject_id
    """
    return sql, params


def se_query(study: Study, scope: Scope, *, blinded: bool) -> tuple[str, list[Any]]:
    """One record per reported menstrual period (a cycle: the element), with the start of the
    next one as its end."""
    periods = reported_period(period_id="m.id", participant_id="m.participant_id",
                              period_number="m.number", outer=True)  # fmt: skip
    outputs = {"next_started_on": "nxt.started_on"}
    allocation = Fragment("")
    if not blinded:
        allocation = allocated_treatment(participant="p", period_number="m.number", outer=True)
        outputs |= {"treatment": allocation.outputs["treatment"],
                    "treatment_name": f"t.{column(Treatment, 'name')}"}  # fmt: skip
    where, params = _assessments(scope, number="m.number")
    sql = f"""
        SELECT {_select(SE, outputs, blinded=blinded)}
        FROM {table(MenstrualPeriod)} m
        {_base("m." + column(MenstrualPeriod, "participant"))}
        {allocation.joins}
        {periods.joins}
        WHERE {where}
        ORDER BY p.subject_id, m.number
    """
    return sql, params


def sv_query(study: Study, scope: Scope, *, blinded: bool) -> tuple[str, list[Any]]:
    """One record per assessment that has happened or will not: submitted, missed or
    excused (SVOCCUR Y or N); scheduled and open ones are not visits yet."""
    where, params = _assessments(scope)
    sql = f"""
        SELECT {_select(SV, {}, blinded=blinded)}
        FROM {table(Assessment)} a
        {_base("a.participant_id")}
        WHERE {where} AND a.status IN ('submitted', 'missed', 'excused')
        ORDER BY p.subject_id, a.period_number
    """
    return sql, params


_TEST_COLUMNS = ("instrument", "item", "testcd", "test", "cat", "scat", "gate", "ord",
                 "derived", "obj", "method", "unit", "evlint", "evintx")  # fmt: skip


def findings_query(
    dataset: Dataset, study: Study, scope: Scope, *, blinded: bool
) -> tuple[str, list[Any]]:
    """QS or FA: one record per mapped item of every current response of the instruments the
    study maps to the domain, in QS also one per derived scale score (a score row of the
    current algorithm). An item not answered is a record with QSSTAT = NOT DONE and the
    reason; a score too few items allowed, likewise."""
    test_rows, test_params, label_rows, label_params = [], [], [], []
    for position, (mapping, modules) in enumerate(study_mappings(study)):
        if mapping.domain != dataset.name:
            continue
        instrument = mapping.instrument
        items, scores = mapping.tests_for(modules)
        for order, test in enumerate((*items, *scores)):
            test_rows.append("(" + ", ".join(["%s"] * 7 + ["%s::integer", "%s::boolean"]
                                             + ["%s"] * 5) + ")")  # fmt: skip
            test_params += [instrument.key, test.key, test.testcd, test.test, mapping.category,
                            test.subcategory, test.gate, position * 10000 + order, test.derived,
                            mapping.object, mapping.method, mapping.unit, mapping.evlint,
                            mapping.evintx]  # fmt: skip
        for test in items:
            item = instrument.item(test.key)
            if item.kind == "integer":
                continue  # a measurement: its result is the number, not an anchor's label
            for code in item.codes:
                label_rows.append("(%s, %s, %s, %s)")
                label_params += [instrument.key, item.key, str(code.value), code.label]
    if not test_rows:
        # The study maps nothing to this domain: the file has its header and no record.
        test_rows = ["(" + ", ".join(["NULL::text"] * 7 + ["NULL::integer", "NULL::boolean"]
                                     + ["NULL::text"] * 5) + ")"]  # fmt: skip
    if not label_rows:
        label_rows = ["(NULL::text, NULL::text, NULL::text, NULL::text)"]
    answer = "(r.answers ->> q.item)"
    outputs = {
        "answer": answer,
        "value": f"(CASE WHEN q.derived THEN sc.value::text ELSE {answer} END)",
    }
    where, params = _participants(scope)
    periods, period_params = "", []
    if scope.periods:
        periods += " AND a.period_number = ANY(%s)"
        period_params.append(list(scope.periods))
    if scope.statuses:
        periods += " AND a.status = ANY(%s)"
        period_params.append(list(scope.statuses))
    score = table(Score)
    # The records of one participant at a time (a LATERAL per participant, whose window and
    # sort are hers: some hundred rows), the participants in subject order from the index of
    # (study, subject ID): so the file's order needs no sort of all the study's records, which
    # at 10,000 participants (2.2 million QS records) spilled to disk and grew faster than the
    # data. QSSEQ's PARTITION BY p.subject_id is one partition per LATERAL, the same numbers.
    # Her current responses are found first, and a score is looked up only for a derived test:
    # a LATERAL whose q.derived is a one-time filter, checked before its index is. (Each OFFSET
    # 0 keeps the planner from flattening the subquery into the join, which checked
    # "superseded?" and probed the scores' index once per item record: 2.1 million times each
    # at 10,000 participants, two thirds of the buffers the query read.)
    sql = f"""
        WITH q({", ".join(_TEST_COLUMNS)}) AS (VALUES {", ".join(test_rows)}),
             lb(instrument, item, code, label) AS (VALUES {", ".join(label_rows)})
        SELECT {", ".join(f"x.{quoted(v.name)}" for v in dataset.variables)}
        FROM {table(Participant)} p
        JOIN {table(Site)} s ON s.id = p.site_id
        JOIN {table(Study)} sy ON sy.id = p.study_id
        CROSS JOIN LATERAL (
            SELECT {_select(dataset, outputs, blinded=blinded)},
                   a.period_number AS visit_order, q.ord AS test_order
            FROM (
                SELECT a.*, r.id AS response_id
                FROM {table(Assessment)} a
                JOIN {table(Response)} r ON r.assessment_id = a.id
                WHERE a.participant_id = p.id{periods} AND {current_response("r")}
                OFFSET 0
            ) a
            JOIN {table(Response)} r ON r.id = a.response_id
            JOIN q ON q.instrument = r.{column(Response, "instrument_key")}
            LEFT JOIN lb ON NOT q.derived AND lb.instrument = q.instrument AND lb.item = q.item
                AND lb.code = {answer}
            LEFT JOIN LATERAL (
                SELECT sc.id, sc.{column(Score, "value")} AS value,
                       sc.{column(Score, "applicable")} AS applicable
                FROM {score} sc
                WHERE q.derived AND sc.{column(Score, "response")} = r.id
                    AND sc.{column(Score, "scale")} = q.item
                    AND sc.{column(Score, "algorithm_version")} = %s
                OFFSET 0
            ) sc ON true
            WHERE NOT q.derived OR sc.id IS NOT NULL
        ) x
        WHERE {where}
        ORDER BY p.subject_id, x.visit_order, x.test_order
    """
    return sql, [*test_params, *label_params, *period_params, ALGORITHM_VERSION, *params]


QUERIES = {
    "DM": dm_query,
    "SE": se_query,
    "SV": sv_query,
    "QS": lambda study, scope, *, blinded: findings_query(QS, study, scope, blinded=blinded),
    "FA": lambda study, scope, *, blinded: findings_query(FA, study, scope, blinded=blinded),
}


@dataclass(frozen=True)
class Design:
    """The trial design's rows (TA, TE) and its codelists' values: arms, elements, epochs."""

    arms: tuple[tuple[str, str], ...]  # (ARMCD, ARM)
    elements: tuple[tuple[str, str], ...]  # (ETCD, ELEMENT)
    ta_rows: tuple[tuple[Any, ...], ...]
    te_rows: tuple[tuple[Any, ...], ...]
    epochs: tuple[str, ...]


def design_rows(study: Study, *, blinded: bool) -> Design:
    """TA and TE in variable order. Unblinded: every sequence is an arm and every treatment an
    element (one menstrual cycle on it), so TA has one element per period of each arm. Blinded:
    one arm, BLINDED, whose elements are the treatment blocks' cycles, which is what every
    participant's SE shows in a blinded file. Two queries unblinded, none blinded."""
    blocks = study.number_of_periods // study.periods_per_block
    epochs = tuple(epoch_name(b) for b in range(1, blocks + 1))
    per_block = study.periods_per_block
    if blinded:
        elements = tuple(blinded_element(b) for b in range(1, blocks + 1))
        arms: tuple[tuple[str, str], ...] = ((BLINDED_ARMCD, BLINDED_ARM),)
        periods = range(1, study.number_of_periods + 1)
        plan = {BLINDED_ARMCD: [elements[(n - 1) // per_block] for n in periods]}
    else:
        treatments = list(Treatment.objects.filter(study=study).order_by("code"))
        elements = tuple((t.code, t.name[:40]) for t in treatments)
        element_of = {t.pk: (t.code, t.name[:40]) for t in treatments}
        sequences: dict[str, list[SequenceBlock]] = {}
        for block in (
            SequenceBlock.objects.filter(sequence__study=study)
            .select_related("sequence")
            .order_by("sequence__code", "block")
        ):
            sequences.setdefault(block.sequence.code, []).append(block)
        name_of = {t.pk: t.name for t in treatments}
        arms = tuple(
            (code, " / ".join(name_of[b.treatment_id] for b in bs))
            for code, bs in sequences.items()
        )
        plan = {}
        for code, bs in sequences.items():
            by_block = {b.block: element_of[b.treatment_id] for b in bs}
            plan[code] = [by_block.get((n - 1) // per_block + 1, ("UNPLAN", ""))
                          for n in range(1, study.number_of_periods + 1)]  # fmt: skip
    ta = tuple(
        (study.code, "TA", armcd, arm, n, etcd, element, epochs[(n - 1) // per_block])
        for armcd, arm in arms
        for n, (etcd, element) in enumerate(plan[armcd], start=1)
    )
    te = tuple((study.code, "TE", etcd, element, TESTRL, TEENRL) for etcd, element in elements)
    return Design(arms, elements, ta, te, epochs)


TRIAL_DESIGN = {"TA": TA, "TE": TE}
