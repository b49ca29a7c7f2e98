"""The questionnaire as the participant goes through it: which instruments and modules the
study collects, its steps and whether it is open.

Selectors read and never write."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.utils.translation import gettext_lazy

from diary.models import Assessment, AssessmentStatus, ResponseDraft, Study
from diary.rules.windows import WindowState, window_state
from scoring.definitions import Instrument, Item, Page, instrument_get
from scoring.selectors import instrument_for


class CollectedInstrument(NamedTuple):
    instrument: Instrument  # the shipped structure (latest version)
    modules: tuple[str, ...]  # its optional modules the study collects, as configured


def modules_collected(*, study: Study, instrument_key: str) -> tuple[str, ...]:
    """The optional modules of `instrument_key` the study collects (none unless configured).

    The one reading of Study.instrument_modules: every page, draft, submission, correction,
    export and summary asks here, so no instrument is special-cased anywhere else."""
    return tuple(study.instrument_modules.get(instrument_key, ()))


def instruments_collected(*, study: Study) -> list[CollectedInstrument]:
    """Each instrument the study collects after a period, in the study's order, with the
    modules it collects of it."""
    return [
        CollectedInstrument(instrument_get(key), modules_collected(study=study, instrument_key=key))
        for key in study.instruments
    ]


def instrument_for_display(*, study: Study, key: str, language: str) -> Instrument:
    """The instrument version whose wording the participant sees: the licensed wording loaded
    for her language (manage.py load_instrument_text), else the shipped structure with its demo
    labels. The one place the diary asks for instrument text; submission records the same."""
    return instrument_for(key=key, language=language)


# The heading a participant reads on a page of the project's own instruments, in plain words:
# their scale labels are written for statisticians ("Dysmenorrhea VAS"). Other pages are headed
# by their label in the instrument's wording.
PAGE_HEADINGS = {("vas_dysmenorrhea", "vas_dysmenorrhea"): gettext_lazy("Period pain")}


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
    def heading(self) -> str:
        return str(PAGE_HEADINGS.get((self.instrument.key, self.page.key), self.page.label))

    @property
    def heading_language(self) -> str:
        """The language of `heading`: the page's own for a plain heading, else the
        instrument's (templates mark it, so a screen reader reads English demo text as such)."""
        if (self.instrument.key, self.page.key) in PAGE_HEADINGS:
            return ""
        return self.instrument.language

    @property
    def items(self) -> list[Item]:
        return [self.instrument.item(key) for key in self.page.item_keys]


def questionnaire_steps(*, study: Study, language: str) -> list[Step]:
    """Every page the participant goes through, in order: each study instrument's pages."""
    steps: list[Step] = []
    for key in study.instruments:
        instrument = instrument_for_display(study=study, key=key, language=language)
        for page in instrument.pages(modules_collected(study=study, instrument_key=key)):
            steps.append(Step(index=len(steps) + 1, instrument=instrument, page=page))
    return steps


def _page_complete(step: Step, answers: dict) -> bool:
    """Every question of the page answered, or its module's gate answered "does not apply"."""
    first = step.items[0]
    if first.kind == "gate" and answers.get(first.key) == 0:
        return True
    return all(answers.get(item.key) is not None for item in step.items)


def questionnaire_resume_page(*, steps: list[Step], draft: ResponseDraft | None) -> int | None:
    """The page "Continue" takes her to: from the last page on which she answered anything,
    the first page with a question still unanswered (questions she left blank on earlier pages
    are hers to leave; the review lists them). 1 when nothing is answered yet, None when every
    page from there on is complete (the review is next)."""

    def answers(step: Step) -> dict:
        return draft.answers_for(step.instrument.key) if draft else {}

    touched = [
        step.index
        for step in steps
        if any(answers(step).get(item.key) is not None for item in step.items)
    ]
    if not touched:
        return 1
    rest = steps[touched[-1] - 1 :]
    return next((s.index for s in rest if not _page_complete(s, answers(s))), None)


class QuestionnaireState(enum.StrEnum):
    """Whether an assessment's questionnaire takes answers now and, when not, why not."""

    NOT_YET_DEFINED = WindowState.NOT_YET_DEFINED.value  # no window yet (period not reported)
    BEFORE = WindowState.BEFORE.value
    OPEN = WindowState.OPEN.value
    CLOSED = WindowState.CLOSED.value  # its window has passed, or it was missed or excused
    SUBMITTED = "submitted"


def questionnaire_state(*, assessment: Assessment, now: datetime) -> QuestionnaireState:
    """The one answer to "is this questionnaire open?", for the home page, the questionnaire
    pages, drafts and submission alike: the assessment's status settles it first (submitted;
    missed or excused count as closed), then its window at `now`."""
    if assessment.status == AssessmentStatus.SUBMITTED:
        return QuestionnaireState.SUBMITTED
    if assessment.status in {AssessmentStatus.MISSED, AssessmentStatus.EXCUSED}:
        return QuestionnaireState.CLOSED
    window = window_state(now=now, opens_at=assessment.opens_at, closes_at=assessment.closes_at)
    return QuestionnaireState(window.value)
