"""Unblinded per-treatment summaries of a crossover study (architecture, data flow step 7).

One set-based SQL query reads every present observation of the study (each current response's
scores and each cycle length, with participant, sequence, period and treatment), built from
the shared fragments (diary.exports.sql: allocated treatment, current response, cycle length).
Everything else is computed in Python by the pure core on exact numbers: descriptives
(scoring.statistics.describe), every crossover analysis of each outcome
(scoring.statistics.crossover_analyse), Holm's adjustment across outcomes and the charts
(scoring.charts). Nothing is rounded before the template.

Exact inputs: Score.value is NUMERIC(9, 4), a rounded copy of the engine's exact Fraction.
_score_exact recovers the Fraction from it without loss (see there), so ties in the answers
stay ties in the ranks.

The result is cached (Django's cache) under a key that changes with the study's data: see
_data_version. Only for unblinded users: callers check that, and audit every view.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from django.core.cache import cache as django_cache
from django.db import connection

from diary.exports.sql import allocated_treatment, current_response, reported_period, table
from diary.models import (
    Allocation,
    Assessment,
    ClosingPeriodStart,
    MenstrualPeriod,
    Participant,
    Response,
    Sequence,
    SequenceBlock,
    Study,
    Treatment,
)
from diary.selectors.flow import flow_participants
from diary.selectors.questionnaire import instruments_collected
from scoring.charts import Chart, forest_chart, means_by_period_chart, profile_chart
from scoring.definition_schema import Instrument, Scale
from scoring.engine import ALGORITHM_VERSION
from scoring.models import Score
from scoring.statistics import (
    R_CONVENTION,
    CrossoverAnalysis,
    CrossoverDesign,
    HolmAdjustment,
    Observation,
    crossover_analyse,
    describe,
    holm_adjust,
    mean_confidence_interval,
)
from scoring.statistics.flow import Flow, OutcomeBlocks, flow_build

CYCLE = "cycle_length_days"
# Bump when what arm_summary computes changes, so that cached summaries of the old code die.
SUMMARY_VERSION = "3"
CACHE_SECONDS = 24 * 3600
# Cycle length (days) is on another scale than the 0-100 scores: not in the same forest plot.
POINTS = "points"


@dataclass(frozen=True)
class _OutcomeSpec:
    key: str
    label: str
    y_range: tuple[float, float]
    # Denominator of the engine's exact score per item answered (max code of the scale's
    # items) for a percent-of-max scale; None for a value scale or cycle length (exact already).
    max_code: int | None
    unit: str


def _score_exact(value: Decimal, *, answered: int, max_code: int | None) -> Fraction:
    """The engine's exact score from its stored 4-decimal copy.

    scoring.engine.scale_score gives 100 * total / (max_code * answered) with an integer total
    (a value scale: the integer answer itself). The stored value differs from it by at most
    0.00005, so value * max_code * answered / 100 is within 0.00005 * max_code * answered / 100
    (< 0.5 while max_code * answered < 10**6) of the integer total: rounding recovers the total
    and so the exact Fraction. ValueError when the stored value is not such a score (a change
    of the engine's formula without a new ALGORITHM_VERSION would show here).
    """
    stored = Fraction(value)
    if max_code is None:
        exact = stored
    else:
        denominator = max_code * answered
        total = round(stored * denominator / 100)
        exact = Fraction(100 * total, denominator)
    if abs(exact - stored) > Fraction(1, 20000):
        raise ValueError(f"stored score {value} is not 100 * total / {max_code} * {answered}")
    return exact


@cache
def _observations_sql() -> str:
    """Every present observation of the study: each current response's scores (NUMERIC, with
    items answered) and each cycle length (integer days), with the participant, her sequence,
    the period and the treatment. Participants without allocation have none. Constant text,
    every value is a bound parameter."""
    arm = allocated_treatment(participant="p", period_number="a.period_number", outer=False)
    cycle = reported_period(
        period_id="arm.period_id", participant_id="arm.pid", period_number="arm.period", outer=False
    )
    return f"""
    WITH arm AS (
        SELECT a.id AS assessment_id, a.participant_id AS pid, p.subject_id,
               a.period_number AS period, a.period_id, a.status,
               {arm.outputs["sequence"]} AS sequence, {arm.outputs["treatment"]} AS treatment
        FROM {table(Assessment)} a
        JOIN {table(Participant)} p ON p.id = a.participant_id
        {arm.joins}
        WHERE p.study_id = %s
    )
    SELECT arm.subject_id, arm.sequence, arm.period, arm.treatment, sc.scale, sc.value,
           sc.items_answered
    FROM arm
    JOIN {table(Response)} r ON r.assessment_id = arm.assessment_id
    JOIN {table(Score)} sc ON sc.response_id = r.id
    WHERE arm.status = 'submitted' AND sc.algorithm_version = %s AND sc.value IS NOT NULL
      AND {current_response("r")}
    UNION ALL
    SELECT arm.subject_id, arm.sequence, arm.period, arm.treatment, %s,
           ({cycle.outputs["cycle_length_days"]})::numeric, NULL
    FROM arm
    {cycle.joins}
"""


@cache
def _data_version_sql() -> str:
    """One row that changes whenever anything the summary reads changes (see _data_version)."""
    return f"""
    WITH ps AS (SELECT id FROM {table(Participant)} WHERE study_id = %(study)s),
    asm AS (SELECT id FROM {table(Assessment)} WHERE participant_id IN (SELECT id FROM ps)),
    rs AS (SELECT id FROM {table(Response)} WHERE assessment_id IN (SELECT id FROM asm))
    SELECT
      (SELECT concat_ws(',', count(*), max(id), max(scored_at), sum(coalesce(value, -1)))
         FROM {table(Score)} WHERE response_id IN (SELECT id FROM rs)),
      (SELECT concat_ws(',', count(*), max(id), max(submitted_at)) FROM {table(Response)}
         WHERE id IN (SELECT id FROM rs)),
      (SELECT concat_ws(',', count(*), max(id), max(submitted_at),
                        md5(string_agg(status, '' ORDER BY id)))
         FROM {table(Assessment)} WHERE id IN (SELECT id FROM asm)),
      (SELECT concat_ws(',', count(*), max(id), max(start_reported_at),
                        max(end_reported_at), sum(started_on - DATE '2000-01-01'))
         FROM {table(MenstrualPeriod)} WHERE participant_id IN (SELECT id FROM ps)),
      (SELECT concat_ws(',', count(*), max(id), max(start_reported_at),
                        sum(started_on - DATE '2000-01-01'))
         FROM {table(ClosingPeriodStart)} WHERE participant_id IN (SELECT id FROM ps)),
      (SELECT concat_ws(',', count(*), max(id), max(allocated_at), sum(sequence_id))
         FROM {table(Allocation)} WHERE participant_id IN (SELECT id FROM ps)),
      (SELECT concat_ws(',', count(*), max(id), max(withdrawn_at),
                        md5(string_agg(status || subject_id, '' ORDER BY id)))
         FROM {table(Participant)} WHERE study_id = %(study)s),
      (SELECT string_agg(concat_ws(':', t.code, t.name), ',' ORDER BY t.id)
         FROM {table(Treatment)} t WHERE t.study_id = %(study)s),
      (SELECT string_agg(concat_ws(':', s.code, b.block, b.treatment_id), ','
                         ORDER BY s.id, b.block)
         FROM {table(Sequence)} s JOIN {table(SequenceBlock)} b ON b.sequence_id = s.id
         WHERE s.study_id = %(study)s)
"""


def _data_version(study: Study) -> str:
    """The cache key of a study's summary, from one query.

    arm-summary:<study pk>:<SUMMARY_VERSION>:<ALGORITHM_VERSION>:<sha256 of: the study's
    number of periods, periods per block and instruments; and per table the summary reads
    (scores, responses, assessments, periods, closing starts, allocations, participants,
    treatments and sequences) its row count, highest id, latest timestamp and a checksum of
    what can change in place (a rescored value, an assessment's or participant's status, a
    corrected period start, a treatment's name)>. Clinical rows are append-only or stamped
    when they change, so any change of the inputs gives a new key and a stale summary is
    never served."""
    with connection.cursor() as cursor:
        cursor.execute(_data_version_sql(), {"study": study.pk})
        row = cursor.fetchone()
    config = (study.number_of_periods, study.periods_per_block, list(study.instruments))
    digest = hashlib.sha256(repr((config, row)).encode()).hexdigest()
    return f"arm-summary:{study.pk}:{SUMMARY_VERSION}:{ALGORITHM_VERSION}:{digest}"


@dataclass
class OutcomeSummary:
    """One outcome: descriptives on every present value (overall per treatment and per
    period and treatment), every crossover analysis (None without a two-treatment,
    two-sequence design), and its charts, each with its data table."""

    key: str
    label: str
    unit: str
    y_range: tuple[float, float]
    overall: dict[str, dict[str, Any]] = field(default_factory=dict)  # treatment -> describe
    per_period: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    participants: int = 0
    analysis: CrossoverAnalysis | None = None
    holm_p: float | None = None
    means_chart: Chart | None = None
    profile: Chart | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.key,
            "label": self.label,
            "unit": self.unit,
            "participants_in_descriptives": self.participants,
            "by_treatment": self.overall,
            "by_period": {str(k): v for k, v in sorted(self.per_period.items())},
            "analysis": self.analysis.as_dict() if self.analysis else None,
            "treatment_effect_p_holm": self.holm_p,
            "notes": self.notes,
        }


@dataclass
class ArmSummary:
    study: str
    treatments: dict[str, str]  # code -> name, in comparison order (a, b)
    design: CrossoverDesign | None
    outcomes: list[OutcomeSummary]
    notes: list[str]
    holm: HolmAdjustment | None = None
    forest: Chart | None = None
    flow: Flow | None = None
    wilcoxon_convention: str = R_CONVENTION
    # The cache key it is stored under (_data_version): the page caches its rendered body
    # under the same key, so a change of the data renders it anew.
    cache_key: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "scoring_algorithm_version": ALGORITHM_VERSION,
            "treatments": self.treatments,
            "design": self.design.as_dict() if self.design else None,
            "wilcoxon_convention": self.wilcoxon_convention,
            "holm": self.holm.as_dict() if self.holm else None,
            "flow": self.flow.as_dict() if self.flow else None,
            "notes": self.notes,
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


def _max_code(instrument: Instrument, scale: Scale) -> int | None:
    if scale.method == "value":
        return None
    return instrument.item(scale.items[0]).max_value


def _outcomes(study: Study) -> list[_OutcomeSpec]:
    out = [
        _OutcomeSpec(
            scale.key, scale.label.removeprefix("[Demo] "), (0.0, 100.0),
            _max_code(instrument, scale), POINTS,
        )
        for instrument, modules in instruments_collected(study=study)
        for scale in instrument.scales_for(modules)
    ]  # fmt: skip
    return [*out, _OutcomeSpec(CYCLE, "Cycle length (days)", (20.0, 40.0), None, "days")]


def _design(study: Study, codes: list[str]) -> tuple[CrossoverDesign | None, list[str]]:
    """The two-treatment, two-sequence design (A: the study's first treatment), or None and
    why not (one query)."""
    if len(codes) != 2:
        return None, ["The crossover analyses need exactly two treatments; descriptives only."]
    first_block = dict(
        study.sequences.filter(blocks__block=1).values_list("code", "blocks__treatment__code")
    )
    a_first = sorted(s for s, t in first_block.items() if t == codes[0])
    b_first = sorted(s for s, t in first_block.items() if t == codes[1])
    if len(a_first) != 1 or len(b_first) != 1:
        return None, ["The crossover analyses need one sequence starting with each treatment; "
                      "descriptives only."]  # fmt: skip
    return CrossoverDesign(codes[0], codes[1], a_first[0], b_first[0]), []


def arm_summary_key(*, study: Study) -> str:
    """The key the study's summary is cached under as its data are now (one query): the page
    looks its rendered body up by it before it needs the summary itself."""
    return _data_version(study)


def arm_summary(*, study: Study, key: str = "") -> ArmSummary:
    """Descriptives and every crossover analysis per outcome, Holm across outcomes, charts.

    Served from the cache while the study's data are unchanged (key: _data_version, one
    query, or `key` from arm_summary_key); otherwise computed (five more queries, whatever
    the number of participants)."""
    key = key or _data_version(study)
    summary = django_cache.get(key)
    if summary is None:
        summary = _arm_summary_compute(study)
        summary.cache_key = key
        django_cache.set(key, summary, CACHE_SECONDS)
    return summary


def _arm_summary_compute(study: Study) -> ArmSummary:
    treatments = dict(study.treatments.order_by("pk").values_list("code", "name"))
    design, notes = _design(study, list(treatments))
    specs = {spec.key: spec for spec in _outcomes(study)}
    with connection.cursor() as cursor:
        cursor.execute(_observations_sql(), [study.pk, ALGORITHM_VERSION, CYCLE])
        rows = cursor.fetchall()
    observations: dict[str, list[Observation]] = defaultdict(list)
    for subject, sequence, period, treatment, outcome, value, answered in rows:
        spec = specs.get(outcome)
        if spec is None:
            continue
        exact = _score_exact(value, answered=answered, max_code=spec.max_code)
        observations[outcome].append(Observation(subject, sequence, period, treatment, exact))
    outcomes = [
        _outcome_summary(spec, observations.get(spec.key, []), study=study, design=design,
                         treatments=treatments)
        for spec in specs.values()
    ]  # fmt: skip
    summary = ArmSummary(study.code, treatments, design, outcomes, notes)
    if design is not None:
        summary.holm = holm_adjust(
            {o.key: o.analysis.two_sequence.treatment.p_value for o in outcomes if o.analysis}
        )
        for outcome in outcomes:
            outcome.holm_p = summary.holm.adjusted.get(outcome.key)
        summary.forest = _forest(outcomes, design=design, treatments=treatments)
    summary.flow = participant_flow(study=study, summary=summary)
    return summary


def participant_flow(
    *, study: Study, summary: ArmSummary, site_ids: tuple[int, ...] | None = None
) -> Flow:
    """The CONSORT flow of the study's participants (of `site_ids` only, when given), with
    "analysed" taken from the summary's own analyses, so the two cannot disagree. Two
    queries. Unblinded: per-sequence counts."""
    codes = list(study.sequences.order_by("code").values_list("code", flat=True))
    if summary.design is not None:
        first = [summary.design.sequence_a_first, summary.design.sequence_b_first]
        codes = first + [code for code in codes if code not in first]
    outcomes = [
        OutcomeBlocks(o.key, o.label, o.analysis.blocks if o.analysis else None)
        for o in summary.outcomes
    ]
    return flow_build(
        flow_participants(study=study, site_ids=site_ids),
        sequences=codes,
        number_of_periods=study.number_of_periods,
        outcomes=outcomes,
        analysed_sequences=codes[:2] if summary.design is not None else (),
    )


def _outcome_summary(
    spec: _OutcomeSpec,
    rows: list[Observation],
    *,
    study: Study,
    design: CrossoverDesign | None,
    treatments: dict[str, str],
) -> OutcomeSummary:
    summary = OutcomeSummary(spec.key, spec.label, spec.unit, spec.y_range)
    summary.participants = len({row.participant for row in rows})
    by_treatment: dict[str, list[Fraction]] = defaultdict(list)
    by_cell: dict[tuple[int, str], list[Fraction]] = defaultdict(list)
    for row in rows:
        by_treatment[row.treatment].append(row.value)  # type: ignore[arg-type]
        by_cell[(row.period, row.treatment)].append(row.value)  # type: ignore[arg-type]
    for code in treatments:
        if by_treatment.get(code):
            summary.overall[code] = describe(by_treatment[code]).as_dict()
    points = []
    for (period, code), values in sorted(by_cell.items()):
        stats = describe(values).as_dict()
        summary.per_period.setdefault(period, {})[code] = stats
        interval = mean_confidence_interval(n=stats["n"], mean=stats["mean"], sd=stats["sd"])
        low, high = interval or (None, None)
        label = f"{code} {treatments.get(code, '')}".strip()
        points.append((period, label, stats["n"], stats["mean"], low, high))
    summary.means_chart = means_by_period_chart(
        points, title=f"{spec.label}: mean by period and treatment", y_label=spec.label,
        y_range=spec.y_range, periods=study.number_of_periods, element_id=f"means-{spec.key}",
    )  # fmt: skip
    if design is None or not rows:
        return summary
    known = (design.sequence_a_first, design.sequence_b_first)
    analysed = [row for row in rows if row.sequence in known]
    if left_out := len({row.participant for row in rows if row.sequence not in known}):
        summary.notes.append(f"{left_out} participant(s) of another sequence are in the "
                             "descriptives only.")  # fmt: skip
    summary.analysis = crossover_analyse(analysed, design=design, outcome=spec.key)
    summary.profile = profile_chart(
        summary.analysis.blocks, design=design, title=f"{spec.label}: each participant's "
        "treatment-block means, by sequence", y_label=spec.label,
        element_id=f"profile-{spec.key}", y_range=spec.y_range, treatment_labels=treatments,
    )  # fmt: skip
    return summary


def _forest(
    outcomes: list[OutcomeSummary], *, design: CrossoverDesign, treatments: dict[str, str]
) -> Chart:
    """The period-adjusted treatment effects of the 0-100 outcomes (points); cycle length is
    in days, so it is not drawn on the same axis."""
    rows = []
    for outcome in outcomes:
        if outcome.unit != POINTS or outcome.analysis is None:
            continue
        effect = outcome.analysis.two_sequence.treatment
        detail = "; ".join(effect.notes) or f"n = {outcome.analysis.n_complete}"
        rows.append((outcome.label, effect.estimate, effect.ci_low, effect.ci_high, detail))
    a, b = treatments[design.treatment_a], treatments[design.treatment_b]
    return forest_chart(
        rows, title=f"Period-adjusted treatment effect, {a} - {b} (points)",
        x_label=f"{design.treatment_a} - {design.treatment_b}, points (lower favours "
        f"{design.treatment_a} when 0 = best)",
        element_id="forest-treatment", favours=(f"favours {a}", f"favours {b}"),
    )  # fmt: skip
