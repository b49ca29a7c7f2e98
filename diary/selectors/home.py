"""What the participant's home page shows: what to do now, her periods and questionnaires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from diary.models import Assessment, ClosingPeriodStart, Participant, ResponseDraft
from diary.selectors.periods import local_today, period_correctable
from diary.selectors.questionnaire import (
    QuestionnaireState,
    questionnaire_resume_page,
    questionnaire_state,
    questionnaire_steps,
)


@dataclass(frozen=True)
class Todo:
    """One thing the home page asks of the participant now, in plain words."""

    kind: str  # questionnaire | report_end | report_start | report_closing | upcoming | finished
    assessment: Assessment | None = None
    period: Any = None
    started: bool = False  # a draft exists: "Continue" rather than "Start"
    resume_page: int | None = 1  # where "Continue" goes; None: to the review

    @property
    def url(self) -> str:
        """Where an open questionnaire's button takes her: its start before a draft exists,
        else the page "Continue" resumes on, else (every page answered) the review. Also
        where her login lands (diary/views/login.py)."""
        if self.assessment is None:
            raise ValueError(f"a {self.kind} to-do has no questionnaire")
        if not self.started:
            return reverse("diary:questionnaire", args=[self.assessment.pk])
        if self.resume_page:
            return reverse("diary:questionnaire_page", args=[self.assessment.pk, self.resume_page])
        return reverse("diary:questionnaire_review", args=[self.assessment.pk])


def diary_todo(
    *, participant: Participant, now: datetime, closing: ClosingPeriodStart | None
) -> list[Todo]:
    """What to do now: open questionnaires first, then the next period report (after the
    last period: the start of the next one, unless `closing`, her closing start, is known)."""
    study = participant.study
    periods = list(participant.periods.order_by("number"))
    assessments = list(participant.assessments.order_by("period_number"))
    drafted = {d.assessment_id: d for d in ResponseDraft.objects.filter(assessment__in=assessments)}
    states = {a.pk: questionnaire_state(assessment=a, now=now) for a in assessments}
    open_now = [a for a in assessments if states[a.pk] == QuestionnaireState.OPEN]
    # Page structure is the same in every language; her own is asked for all the same.
    steps = questionnaire_steps(study=study, language=participant.language) if open_now else []
    todos = [
        Todo(
            "questionnaire",
            assessment=a,
            started=a.pk in drafted,
            resume_page=questionnaire_resume_page(steps=steps, draft=drafted.get(a.pk)),
        )
        for a in open_now
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
    next_due = latest is None or latest.ended_on is not None or end_forgotten
    if len(periods) < study.number_of_periods and next_due:
        todos.append(Todo("report_start"))
    # After the last period: the start of the next one closes its cycle (no questionnaire).
    last_done = len(periods) == study.number_of_periods
    if last_done and next_due and closing is None:
        todos.append(Todo("report_closing"))
    todos += [
        Todo("upcoming", assessment=a)
        for a in assessments
        if states[a.pk] == QuestionnaireState.BEFORE
    ]
    if not todos and last_done:
        todos.append(Todo("finished"))
    return todos


def diary_overview(*, participant: Participant, now: datetime | None = None) -> dict[str, Any]:
    """What the participant's home page lists: her periods and her assessments (no scores)."""
    now = now or timezone.now()
    periods = list(participant.periods.select_related("participant__study").order_by("number"))
    closing = ClosingPeriodStart.objects.filter(participant=participant).first()
    return {
        "todos": diary_todo(participant=participant, now=now, closing=closing),
        "periods": [(p, period_correctable(p, now)) for p in periods],
        "closing": closing,
        "assessments": [
            a for a in participant.assessments.order_by("period_number") if a.opens_at is not None
        ],
    }


def questionnaire_due(*, participant: Participant, now: datetime | None = None) -> Todo | None:
    """Her first open questionnaire, as the home page offers it ("Fill in", or "Continue" at
    the page it resumes on), or None when none is open now."""
    now = now or timezone.now()
    closing = ClosingPeriodStart.objects.filter(participant=participant).first()
    todos = diary_todo(participant=participant, now=now, closing=closing)
    return next((todo for todo in todos if todo.kind == "questionnaire"), None)
