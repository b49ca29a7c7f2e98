"""The questionnaire as the participant goes through it: its steps and whether it is open.

Selectors read and never write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from diary.models import Assessment, AssessmentStatus, Study
from diary.rules.windows import WindowState, window_state
from scoring.definitions import Instrument, Item, Page
from scoring.selectors import instrument_for


def instrument_for_display(*, study: Study, key: str, language: str) -> Instrument:
    """The instrument version whose wording the participant sees: the licensed wording loaded
    for her language (manage.py load_instrument_text), else the shipped structure with its demo
    labels. The one place the diary asks for instrument text; submission records the same."""
    return instrument_for(key=key, language=language)


def modules_for(instrument_key: str, study_modules: list[str]) -> tuple[str, ...]:
    return tuple(study_modules) if instrument_key == "ehp30" else ()


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
