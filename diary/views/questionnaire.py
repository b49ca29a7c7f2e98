"""Filling in a questionnaire: pages saved as drafts, review, submit, confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from diary.access import participant_required
from diary.forms import ReviewForm
from diary.models import Assessment, AssessmentStatus, Participant
from diary.selectors.questionnaire import (
    QuestionnaireState,
    Step,
    questionnaire_resume_page,
    questionnaire_state,
    questionnaire_steps,
)
from diary.services.drafts import DraftRefused, draft_answers, draft_save
from diary.services.late_entries import AlreadyKept, late_entry_keep
from diary.services.submission import (
    AlreadySubmitted,
    ArrivedLate,
    SubmissionRefused,
    UnansweredNotConfirmed,
    assessment_submit,
)
from diary.views import questionnaire_input
from diary.views.offline import offline_cacheable


def assessment_of(participant: Participant, pk: int) -> Assessment:
    """The participant's own questionnaire once its window is known; anything else is a 404."""
    return get_object_or_404(
        Assessment.objects.select_related("participant__study", "draft"),
        pk=pk,
        participant=participant,
        opens_at__isnull=False,
    )


def _steps(request: HttpRequest, assessment: Assessment) -> list[Step]:
    return questionnaire_steps(study=assessment.participant.study, language=request.LANGUAGE_CODE)


def _window_context(assessment: Assessment) -> dict:
    state = questionnaire_state(assessment=assessment, now=timezone.now())
    return {"is_open": state == QuestionnaireState.OPEN, "window": state.value}


@login_required
@require_GET
@offline_cacheable
def questionnaire(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = assessment_of(participant_required(request), pk)
    if assessment.status == AssessmentStatus.SUBMITTED:
        return redirect("diary:questionnaire_done", pk=pk)
    steps = _steps(request, assessment)
    return render(
        request,
        "diary/questionnaire.html",
        {
            "assessment": assessment,
            "steps": steps,
            **_window_context(assessment),
            "started": any(
                v is not None
                for answers in draft_answers(assessment=assessment).values()
                for v in answers.values()
            ),
            "resume_page": questionnaire_resume_page(
                steps=steps, draft=getattr(assessment, "draft", None)
            ),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@offline_cacheable
def questionnaire_page(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    assessment = assessment_of(participant_required(request), pk)
    if assessment.status == AssessmentStatus.SUBMITTED:
        return _already_submitted(request, assessment)
    steps = _steps(request, assessment)
    if not 1 <= number <= len(steps):
        raise Http404("No such page.")
    step = steps[number - 1]
    if request.method == "POST":
        return _page_save(request, assessment, steps, step)
    answers = draft_answers(assessment=assessment)[step.instrument.key]
    return _page_render(request, assessment, steps, step, answers)


# What a page form (urlencoded) and the background save (fetch with FormData) send. Any other
# body reads as an empty form, which would save every question of the page as unanswered.
FORM_CONTENT_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def _page_save(request, assessment, steps, step) -> HttpResponse:
    now = timezone.now()
    autosave = request.headers.get("X-Autosave") == "1"
    if request.content_type not in FORM_CONTENT_TYPES:
        unread = _("Your answers could not be read, so nothing was saved. Please try again.")
        if autosave:
            return JsonResponse({"saved": False, "errors": [unread]}, status=400)
        saved = draft_answers(assessment=assessment)[step.instrument.key]
        return _page_render(request, assessment, steps, step, saved, [unread], 400)
    try:
        claimed = questionnaire_input.device_time(
            request.POST, now=now, opens_at=assessment.opens_at
        )
        answers = questionnaire_input.outbox_answers(step, request.POST)
    except questionnaire_input.EntryRefused as exc:
        if autosave:
            return JsonResponse({"saved": False, "errors": [str(exc)]}, status=400)
        saved = draft_answers(assessment=assessment)[step.instrument.key]
        return _page_render(request, assessment, steps, step, saved, [str(exc)], 400)
    if answers is None:
        answers = questionnaire_input.page_answers(step, request.POST)
    answered_vas = step.is_vas and any(v is not None for v in answers.values())
    try:
        result = draft_save(
            assessment=assessment,
            instrument_key=step.instrument.key,
            answers=answers,
            actor=request.user,
            now=now,
            device_time=claimed,
            metadata=questionnaire_input.vas_metadata(request.POST, now=now)
            if answered_vas
            else None,
        )
    except DraftRefused as exc:
        if autosave:
            return JsonResponse({"saved": False, "errors": [exc.message]}, status=409)
        return _page_render(request, assessment, steps, step, answers, [exc.message], 409)
    if autosave:
        return JsonResponse(
            {"saved": not result.errors, "errors": result.errors},
            status=400 if result.errors else 200,
        )
    if result.errors:
        saved = result.draft.answers_for(step.instrument.key)
        return _page_render(request, assessment, steps, step, saved, result.errors, 400)
    nav = request.POST.get("nav", "next")
    cleared = request.POST.get("clear", "")
    if cleared in step.page.item_keys:
        # Only a question of the page: any other text would be echoed into the Location header,
        # and one over 16,384 characters made the redirect fail after the answers were saved.
        target = reverse("diary:questionnaire_page", args=[assessment.pk, step.index])
        return redirect(f"{target}#item-{cleared}")
    if nav == "back":
        if step.index == 1:
            return redirect("diary:questionnaire", pk=assessment.pk)
        return redirect("diary:questionnaire_page", pk=assessment.pk, number=step.index - 1)
    if nav == "review" or step.index == len(steps):
        return redirect("diary:questionnaire_review", pk=assessment.pk)
    return redirect("diary:questionnaire_page", pk=assessment.pk, number=step.index + 1)


def _page_render(request, assessment, steps, step, answers, errors=(), status=200):
    numbers = questionnaire_input.item_numbers(steps)
    return render(
        request,
        "diary/questionnaire_page.html",
        {
            "assessment": assessment,
            "step": step,
            "total": len(steps),
            "percent": round(100 * (step.index - 1) / len(steps)),
            "rows": questionnaire_input.review_rows(step, answers, numbers),
            "errors": errors,
            "from_review": request.GET.get("from") == "review",
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@offline_cacheable
def questionnaire_review(request: HttpRequest, pk: int) -> HttpResponse:
    participant = participant_required(request)
    if request.method == "POST":
        return _review_submit(request, participant, pk)
    assessment = assessment_of(participant, pk)
    if assessment.status == AssessmentStatus.SUBMITTED:
        return _already_submitted(request, assessment)
    return _review_render(request, assessment)


def _review_submit(request: HttpRequest, participant: Participant, pk: int) -> HttpResponse:
    # The service finds and locks her assessment itself: the busiest write of the diary reads
    # the assessment once (bench/bench_submit.py).
    now = timezone.now()
    confirmed = request.POST.get("confirm_unanswered") == "on"
    try:
        claimed = questionnaire_input.device_time(request.POST, now=now)
        assessment_submit(
            participant=participant,
            assessment_id=pk,
            actor=request.user,
            confirm_unanswered=confirmed,
            now=now,
            device_time=claimed,
        )
    except Assessment.DoesNotExist:
        raise Http404("No such questionnaire.") from None
    except questionnaire_input.EntryRefused as exc:
        return _review_render(request, assessment_of(participant, pk), [str(exc)], 400)
    except ArrivedLate:
        return _late_keep(request, participant, pk, claimed, confirmed, now)
    except AlreadySubmitted:
        messages.info(request, _("This questionnaire has already been submitted."))
        return redirect("diary:questionnaire_done", pk=pk)
    except UnansweredNotConfirmed as exc:
        # Post/Redirect/Get: the review is shown again by a GET, so the browser's Back and
        # reload on it never ask to send the form again ("Confirm Form Resubmission").
        for message in exc.messages:
            messages.warning(request, message)
        return redirect("diary:questionnaire_review", pk=pk)
    except SubmissionRefused as exc:
        return _review_render(request, assessment_of(participant, pk), exc.messages, 409)
    except ValidationError as exc:
        return _review_render(request, assessment_of(participant, pk), exc.messages, 400)
    return redirect("diary:questionnaire_done", pk=pk)


def _late_keep(request, participant, pk, claimed, confirmed, now) -> HttpResponse:
    """After the window closed: her answers are kept for the study team, and she is told so."""
    try:
        entry = late_entry_keep(
            participant=participant,
            assessment_id=pk,
            actor=request.user,
            device_time=claimed,
            confirm_unanswered=confirmed,
            now=now,
        )
    except AlreadyKept:
        entry = None
    except ValidationError as exc:
        return _review_render(request, assessment_of(participant, pk), exc.messages, 409)
    assessment = assessment_of(participant, pk)
    return render(
        request,
        "diary/questionnaire_late.html",
        {"assessment": assessment, "entry": entry},
        status=202,
    )


def _review_render(request, assessment, errors=(), status=200) -> HttpResponse:
    steps = _steps(request, assessment)
    answers = draft_answers(assessment=assessment)
    numbers = questionnaire_input.item_numbers(steps)
    pages = [
        (s, questionnaire_input.review_rows(s, answers[s.instrument.key], numbers)) for s in steps
    ]
    unanswered = [(s, row) for s, rows in pages for row in rows if row.value is None]
    return render(
        request,
        "diary/questionnaire_review.html",
        {
            "assessment": assessment,
            "pages": pages,
            "unanswered": unanswered,
            "form": ReviewForm(unanswered=len(unanswered)),
            "errors": errors,
            **_window_context(assessment),
        },
        status=status,
    )


def _already_submitted(request: HttpRequest, assessment: Assessment) -> HttpResponse:
    """A second tab, a double click or a replayed POST: say so, change nothing."""
    if request.method == "POST":
        messages.info(request, _("This questionnaire has already been submitted."))
    return redirect("diary:questionnaire_done", pk=assessment.pk)


@login_required
@require_GET
def questionnaire_done(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = assessment_of(participant_required(request), pk)
    if assessment.status != AssessmentStatus.SUBMITTED:
        return redirect("diary:questionnaire_review", pk=pk)
    return render(request, "diary/questionnaire_done.html", {"assessment": assessment})
