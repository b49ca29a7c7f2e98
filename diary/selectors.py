"""Reads. Selectors never write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diary.models import Assessment, AssessmentStatus, Participant, ResponseDraft, Study
from diary.services.assessments import modules_for
from diary.services.periods import local_today, period_correctable
from diary.windows import WindowState, window_state
from scoring.definitions import Instrument, Item, Page
from scoring.selectors import instrument_for


def instrument_for_display(*, study: Study, key: str, language: str) -> Instrument:
    """The instrument version whose wording the participant sees: the licensed wording loaded
    for her language (manage.py load_instrument_text), else the shipped structure with its demo
    labels. The one place the diary asks for instrument text; submission records the same."""
    return instrument_for(key=key, language=language)


@dataclass(frozen=True)
class Step:
    """One screen of a questionnaire: a page of one instrument."""

    index: int  # 1-based, over every instrument of the study
    instrument: Instrument
    page: Page

    @property
    def is_vas(self) -> bool:
        return any(self.instrument.item(key).kind == "integer" for key in self.page.item_keys)

    @property
    def items(self) -> list[Item]:
        return [self.instrument.item(key) for key in self.page.item_keys]


def questionnaire_steps(*, study: Study, language: str) -> list[Step]:
    """Every page the participant goes through, in order: each study instrument's pages."""
    steps: list[Step] = []
    for key in study.instruments:
        instrument = instrument_for_display(study=study, key=key, language=language)
        for page in instrument.pages(modules_for(key, study.ehp30_modules)):
            steps.append(Step(index=len(steps) + 1, instrument=instrument, page=page))
    return steps


def assessment_is_open(assessment: Assessment, now: datetime) -> bool:
    if assessment.status not in {AssessmentStatus.SCHEDULED, AssessmentStatus.OPEN}:
        return False
    state = window_state(now=now, opens_at=assessment.opens_at, closes_at=assessment.closes_at)
    return state == WindowState.OPEN


@dataclass(frozen=True)
class Todo:
    """One thing the home page asks of the participant now, in plain words."""

    kind: str  # questionnaire | report_end | report_start | upcoming | finished
    assessment: Assessment | None = None
    period: Any = None
    started: bool = False  # a draft exists: "Continue" rather than "Start"


def diary_todo(*, participant: Participant, now: datetime) -> list[Todo]:
    """What to do now: open questionnaires first, then the next period report."""
    study = participant.study
    periods = list(participant.periods.order_by("number"))
    assessments = list(participant.assessments.order_by("period_number"))
    drafted = set(
        ResponseDraft.objects.filter(assessment__in=assessments).values_list(
            "assessment_id", flat=True
        )
    )
    todos = [
        Todo("questionnaire", assessment=a, started=a.pk in drafted)
        for a in assessments
        if assessment_is_open(a, now)
    ]
    latest = periods[-1] if periods else None
    if latest is not None and latest.ended_on is None:
        todos.append(Todo("report_end", period=latest))
    # The next start is asked for once the current period has ended, or when its end looks
    # forgotten (past the day its questionnaire opens without an end).
    end_forgotten = (
        latest is not None
        and (local_today(participant, now) - latest.started_on).days
        >= study.window_fallback_open_days
    )
    if len(periods) < study.number_of_periods and (
        latest is None or latest.ended_on is not None or end_forgotten
    ):
        todos.append(Todo("report_start"))
    todos += [
        Todo("upcoming", assessment=a)
        for a in assessments
        if a.status == AssessmentStatus.SCHEDULED
        and window_state(now=now, opens_at=a.opens_at, closes_at=a.closes_at) == WindowState.BEFORE
    ]
    if not todos and len(periods) == study.number_of_periods:
        todos.append(Todo("finished"))
    return todos


def diary_overview(*, participant: Participant, now: datetime | None = None) -> dict[str, Any]:
    """What the participant's home page lists: her periods and her assessments (no scores)."""
    from django.utils import timezone

    now = now or timezone.now()
    periods = list(participant.periods.select_related("participant__study").order_by("number"))
    return {
        "todos": diary_todo(participant=participant, now=now),
        "periods": [(p, period_correctable(p, now)) for p in periods],
        "assessments": [
            a for a in participant.assessments.order_by("period_number") if a.opens_at is not None
        ],
    }
