"""Admin pages for the site's coordinator: correct a response, or enter a paper questionnaire.

Both create new rows through diary.services.corrections; nothing is edited in place.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from diary import access
from diary.models import Assessment, Response
from diary.selectors.questionnaire import instruments_collected, modules_collected
from diary.services.corrections import (
    MIN_REASON_LENGTH,
    assessment_transcribe,
    response_correct,
)
from scoring.definitions import Instrument
from scoring.selectors import structure_for


def answer_fields(instrument: Instrument, modules: tuple[str, ...], prefix: str) -> dict:
    """One optional field per item, in the instrument's order; empty means not answered."""
    fields: dict[str, forms.Field] = {}
    for key in instrument.item_keys(modules):
        item = instrument.item(key)
        label = f"{key}: {item.label}"
        if item.kind == "integer":
            fields[f"{prefix}{key}"] = forms.IntegerField(
                label=label, required=False, min_value=item.min_value, max_value=item.max_value
            )
        else:
            choices = [
                ("", "not answered"),
                *((c.value, f"{c.value} {c.label}") for c in item.codes),
            ]
            fields[f"{prefix}{key}"] = forms.TypedChoiceField(
                label=label, required=False, choices=choices, coerce=int, empty_value=None
            )
    return fields


def answers_of(cleaned: dict[str, Any], prefix: str) -> dict[str, int | None]:
    return {k.removeprefix(prefix): v for k, v in cleaned.items() if k.startswith(prefix)}


def _form_class(parts: list[tuple[Instrument, tuple[str, ...]]], *, paper: bool) -> type:
    fields: dict[str, forms.Field] = {}
    for instrument, modules in parts:
        fields.update(answer_fields(instrument, modules, f"{instrument.key}__"))
    if paper:
        fields["completed_on"] = forms.DateField(
            help_text="The day she filled in the paper form (YYYY-MM-DD, her local date)."
        )
    fields["reason"] = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=MIN_REASON_LENGTH,
        help_text="Why this entry is made. Recorded in the audit trail.",
    )
    return type("AnswersForm", (forms.Form,), fields)


def _page(request, title, form, participant, back) -> TemplateResponse:
    context = {
        **admin.site.each_context(request),
        "title": title,
        "form": form,
        "participant": participant,
        "back": back,
    }
    return TemplateResponse(request, "admin/diary/pages/answers_form.html", context)


def _participant_url(participant) -> str:
    return reverse("admin:diary_participant_change", args=[participant.pk])


def _saved(request, form, participant, save, message: str) -> HttpResponse | None:
    """Run `save` (a correction service): on success, say `message` and go back to the
    participant's page; a refusal is a 404; a validation error goes onto the form (None)."""
    try:
        save()
    except PermissionDenied as exc:
        raise Http404 from exc
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    messages.success(request, message)
    return redirect(_participant_url(participant))


def response_correct_view(request: HttpRequest, response_id: int) -> HttpResponse:
    response = get_object_or_404(
        Response.objects.select_related("assessment__participant__study"),
        pk=response_id,
        assessment__participant__in=access.participants_where(request.user, access.CORRECT),
    )
    participant = response.assessment.participant
    # The structure the response was given under (a licensed version maps to its own).
    instrument = structure_for(key=response.instrument_key, version=response.instrument_version)
    modules = modules_collected(study=participant.study, instrument_key=response.instrument_key)
    form_class = _form_class([(instrument, modules)], paper=False)
    prefix = f"{instrument.key}__"
    initial = {f"{prefix}{k}": v for k, v in response.answers.items()}
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _saved(
            request,
            form,
            participant,
            lambda: response_correct(
                response=response,
                answers=answers_of(form.cleaned_data, prefix),
                reason=form.cleaned_data["reason"],
                actor=request.user,
            ),
            "The correction was saved; the earlier answers are kept.",
        )
        if saved is not None:
            return saved
    period = response.assessment.period_number
    title = f"Correct {participant.subject_id}, period {period}, {instrument.key}"
    return _page(request, title, form, participant, _participant_url(participant))


def assessment_transcribe_view(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = get_object_or_404(
        Assessment.objects.select_related("participant__study"),
        pk=assessment_id,
        participant__in=access.participants_where(request.user, access.CORRECT),
    )
    participant = assessment.participant
    study = participant.study
    parts = instruments_collected(study=study)
    form = _form_class(parts, paper=True)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        answers = {i.key: answers_of(form.cleaned_data, f"{i.key}__") for i, _ in parts}
        saved = _saved(
            request,
            form,
            participant,
            lambda: assessment_transcribe(
                assessment=assessment,
                answers=answers,
                completed_on=form.cleaned_data["completed_on"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            ),
            "The paper questionnaire was entered.",
        )
        if saved is not None:
            return saved
    title = (
        f"Enter the paper questionnaire of {participant.subject_id}, "
        f"period {assessment.period_number}"
    )
    return _page(request, title, form, participant, _participant_url(participant))
