"""Unblinded per-treatment summaries of a crossover study (architecture, data flow step 7).

Two SQL queries whatever the number of participants: descriptive statistics per outcome,
treatment and period (GROUPING SETS, percentile_cont = numpy's default quartiles), and each
participant's mean per treatment, on which the paired tests run (scoring.statistics).
Outcomes: every scale the study scores (EHP-30 scales, the VAS) and cycle length.
Only for unblinded users: callers check that, and audit every view.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from diary.models import Study
from diary.selectors.questionnaire import instruments_collected
from scoring.chart import period_treatment_chart_svg, period_treatment_table
from scoring.engine import ALGORITHM_VERSION
from scoring.statistics import CrossoverComparison, crossover_compare, mean_confidence_interval

CYCLE = "cycle_length_days"
DESCRIBE_FIELDS = ("n", "mean", "sd", "median", "q1", "q3", "minimum", "maximum")

_OBSERVATIONS = """
    WITH arm AS (
        SELECT a.id AS assessment_id, a.participant_id AS pid, a.period_number AS period,
               a.period_id, a.status, seq.code AS sequence, t.code AS treatment
        FROM diary_assessment a
        JOIN diary_participant p ON p.id = a.participant_id
        JOIN diary_study st ON st.id = p.study_id
        JOIN diary_allocation al ON al.participant_id = p.id
        JOIN diary_sequence seq ON seq.id = al.sequence_id
        JOIN diary_sequenceblock sb ON sb.sequence_id = al.sequence_id
            AND sb.block = (a.period_number - 1) / st.periods_per_block + 1
        JOIN diary_treatment t ON t.id = sb.treatment_id
        WHERE p.study_id = %s
    ), obs AS (
        SELECT arm.pid, arm.sequence, arm.period, arm.treatment, sc.scale AS outcome,
               sc.value::float8 AS value
        FROM arm
        JOIN diary_response r ON r.assessment_id = arm.assessment_id
        JOIN scoring_score sc ON sc.response_id = r.id
        WHERE arm.status = 'submitted' AND sc.algorithm_version = %s AND sc.value IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM diary_response c WHERE c.supersedes_id = r.id)
        UNION ALL
        SELECT arm.pid, arm.sequence, arm.period, arm.treatment, %s,
               (nxt.started_on - mp.started_on)::float8
        FROM arm
        JOIN diary_menstrualperiod mp ON mp.id = arm.period_id
        JOIN diary_menstrualperiod nxt ON nxt.participant_id = arm.pid
            AND nxt.number = arm.period + 1
    )
"""

# Constant SQL text; every value is a bound parameter.
_DESCRIBE = (
    _OBSERVATIONS
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

_PARTICIPANT_MEANS = (
    _OBSERVATIONS
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
        cursor.execute(_DESCRIBE, params)
        described = cursor.fetchall()
        cursor.execute(_PARTICIPANT_MEANS, params)
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
