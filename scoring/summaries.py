"""Unblinded per-treatment summaries of a crossover study (architecture, data flow step 7).

Two SQL queries whatever the number of participants: descriptive statistics per outcome,
treatment and period (GROUPING SETS, percentile_cont = numpy's default quartiles), and each
participant's mean per treatment, on which the paired tests run (scoring.statistics).
Hand-written set-based SQL over every row of a study, like the COPY exports, and built from
the same fragments (diary.exports.sql: allocated treatment, current response, cycle length).
Outcomes: every scale the study scores (EHP-30 scales, the VAS) and cycle length.
Only for unblinded users: callers check that, and audit every view.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection

from diary.exports.sql import allocated_treatment, current_response, reported_period, table
from diary.models import Assessment, Participant, Response, Study
from diary.selectors.questionnaire import instruments_collected
from scoring.chart import period_treatment_chart_svg, period_treatment_table
from scoring.engine import ALGORITHM_VERSION
from scoring.models import Score
from scoring.statistics import CrossoverComparison, crossover_compare, mean_confidence_interval

CYCLE = "cycle_length_days"
DESCRIBE_FIELDS = ("n", "mean", "sd", "median", "q1", "q3", "minimum", "maximum")


@cache
def _observations() -> str:
    """Every observation of the study: each current response's scores and each cycle length,
    with its participant, sequence, period and treatment. Participants without allocation
    have none. Built once per process from the shared fragments (diary.exports.sql)."""
    arm = allocated_treatment(participant="p", period_number="a.period_number", outer=False)
    cycle = reported_period(
        period_id="arm.period_id", participant_id="arm.pid", period_number="arm.period", outer=False
    )
    return f"""
    WITH arm AS (
        SELECT a.id AS assessment_id, a.participant_id AS pid, a.period_number AS period,
               a.period_id, a.status, {arm.outputs["sequence"]} AS sequence,
               {arm.outputs["treatment"]} AS treatment
        FROM {table(Assessment)} a
        JOIN {table(Participant)} p ON p.id = a.participant_id
        {arm.joins}
        WHERE p.study_id = %s
    ), obs AS (
        SELECT arm.pid, arm.sequence, arm.period, arm.treatment, sc.scale AS outcome,
               sc.value::float8 AS value
        FROM arm
        JOIN {table(Response)} r ON r.assessment_id = arm.assessment_id
        JOIN {table(Score)} sc ON sc.response_id = r.id
        WHERE arm.status = 'submitted' AND sc.algorithm_version = %s AND sc.value IS NOT NULL
          AND {current_response("r")}
        UNION ALL
        SELECT arm.pid, arm.sequence, arm.period, arm.treatment, %s,
               ({cycle.outputs["cycle_length_days"]})::float8
        FROM arm
        {cycle.joins}
    )
"""


@cache
def _describe_sql() -> str:
    # Constant SQL text; every value is a bound parameter.
    return (
        _observations()
        + """
    SELECT outcome, treatment, period, count(*), avg(value), stddev_samp(value),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY value),
           percentile_cont(0.25) WITHIN GROUP (ORDER BY value),
           percentile_cont(0.75) WITHIN GROUP (ORDER BY value), min(value), max(value)
    FROM obs
    GROUP BY GROUPING SETS ((outcome, treatment), (outcome, treatment, period))
    ORDER BY outcome, treatment, period NULLS FIRST
"""
    )


@cache
def _participant_means_sql() -> str:
    return (
        _observations()
        + """
    SELECT outcome, pid::text, sequence, treatment, avg(value)
    FROM obs GROUP BY outcome, pid, sequence, treatment
"""
    )


@dataclass
class OutcomeSummary:
    key: str
    label: str
    y_range: tuple[float, float]
    overall: dict[str, dict[str, Any]] = field(default_factory=dict)  # treatment -> describe
    per_period: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    comparison: CrossoverComparison | None = None
    chart_svg: str = ""
    chart_table: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.key,
            "label": self.label,
            "by_treatment": self.overall,
            "by_period": {str(k): v for k, v in sorted(self.per_period.items())},
            "comparison": self.comparison.as_dict() if self.comparison else None,
        }


@dataclass
class ArmSummary:
    study: str
    treatments: dict[str, str]  # code -> name, in comparison order (a, b)
    outcomes: list[OutcomeSummary]
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "scoring_algorithm_version": ALGORITHM_VERSION,
            "treatments": self.treatments,
            "notes": self.notes,
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


def _outcomes(study: Study) -> list[tuple[str, str, tuple[float, float]]]:
    out = [
        (scale.key, scale.label.removeprefix("[Demo] "), (0.0, 100.0))
        for instrument, modules in instruments_collected(study=study)
        for scale in instrument.scales_for(modules)
    ]
    return [*out, (CYCLE, "Cycle length (days)", (20.0, 40.0))]


def arm_summary(*, study: Study) -> ArmSummary:
    """Descriptives per treatment (overall and per period) and paired crossover comparisons."""
    treatments = dict(study.treatments.order_by("pk").values_list("code", "name"))
    params = [study.pk, ALGORITHM_VERSION, CYCLE]
    with connection.cursor() as cursor:
        cursor.execute(_describe_sql(), params)
        described = cursor.fetchall()
        cursor.execute(_participant_means_sql(), params)
        means = cursor.fetchall()
    outcomes = {key: OutcomeSummary(key, label, y) for key, label, y in _outcomes(study)}
    for outcome, treatment, period, *values in described:
        if outcome not in outcomes:
            continue
        stats = dict(zip(DESCRIBE_FIELDS, values, strict=True))
        target = outcomes[outcome]
        if period is None:
            target.overall[treatment] = stats
        else:
            target.per_period.setdefault(period, {})[treatment] = stats
    by_outcome: dict[str, list[tuple[str, str, str, float]]] = defaultdict(list)
    for outcome, pid, sequence, treatment, mean in means:
        by_outcome[outcome].append((pid, sequence, treatment, mean))
    notes: list[str] = []
    codes = list(treatments)
    if len(codes) != 2:
        notes.append("Paired comparisons need exactly two treatments; descriptives only.")
    first_block = _first_treatment_of_sequences(study)
    a_first = next((seq for seq, code in first_block.items() if codes and code == codes[0]), None)
    b_first = next(
        (seq for seq, code in first_block.items() if len(codes) == 2 and code == codes[1]), None
    )
    for key, summary in outcomes.items():
        if len(codes) == 2 and by_outcome.get(key):
            summary.comparison = crossover_compare(
                by_outcome[key],
                treatment_a=codes[0],
                treatment_b=codes[1],
                sequence_a_first=a_first,
                sequence_b_first=b_first,
            )
        points = []
        for period, cells in sorted(summary.per_period.items()):
            for treatment, stats in sorted(cells.items()):
                interval = (
                    mean_confidence_interval(n=stats["n"], mean=stats["mean"], sd=stats["sd"])
                    if stats["sd"] is not None
                    else None
                )
                low, high = interval if interval else (None, None)
                points.append(
                    (
                        period,
                        f"{treatment} {treatments.get(treatment, '')}".strip(),
                        stats["n"],
                        stats["mean"],
                        low,
                        high,
                    )
                )
        summary.chart_table = period_treatment_table(points)
        if points:
            summary.chart_svg = period_treatment_chart_svg(
                points,
                title=f"{summary.label}: mean by period and treatment",
                y_label=summary.label,
                y_range=summary.y_range,
                periods=study.number_of_periods,
                element_id=f"chart-{key}",
            )
    return ArmSummary(study.code, treatments, list(outcomes.values()), notes)


def _first_treatment_of_sequences(study: Study) -> dict[str, str]:
    """Sequence code -> code of the treatment in its first block (one query)."""
    return dict(
        study.sequences.filter(blocks__block=1).values_list("code", "blocks__treatment__code")
    )
