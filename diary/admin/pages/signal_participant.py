"""One participant's signals: values, definitions, reviews and queries; the monitor signs a
signal (or the whole trail) off with a comment, or raises a query to the site.

A review carries the value the monitor saw; if the signal has changed when she signs, the
service refuses and nothing is stored (the page says so and shows the new value).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from diary import access
from diary.admin.base import admin_page
from diary.models import DataQuery, SignalKind, SignalReview
from diary.selectors.signals import (
    participant_signals,
    signal_definitions,
    signal_settings_of,
    trail_fingerprint,
)
from diary.services.signals import (
    TEXT_LIMIT,
    SignalActionRefused,
    query_raise,
    signal_review,
)


class ReviewForm(forms.Form):
    signal = forms.ChoiceField(choices=SignalKind.choices)
    value_seen = forms.CharField(max_length=64, widget=forms.HiddenInput)
    comment = forms.CharField(max_length=TEXT_LIMIT, widget=forms.Textarea(attrs={"rows": 2}))


class QueryForm(forms.Form):
    signal = forms.ChoiceField(choices=SignalKind.choices, label="About")
    text = forms.CharField(
        max_length=TEXT_LIMIT, label="Query to the site", widget=forms.Textarea(attrs={"rows": 3})
    )


def _post(request: HttpRequest, participant) -> str:
    """Do what the POST asks; returns an error message, or "" when it was done."""
    action = request.POST.get("action")
    form_class = {"review": ReviewForm, "query": QueryForm}.get(action or "")
    if form_class is None:
        return "Choose to review a signal or to raise a query."
    form = form_class(request.POST)
    if not form.is_valid():
        return "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
    data = form.cleaned_data
    try:
        if action == "review":
            signal_review(
                participant=participant,
                signal=data["signal"],
                value_seen=data["value_seen"],
                comment=data["comment"],
                actor=request.user,
            )
        else:
            query_raise(
                participant=participant,
                signal=data["signal"],
                text=data["text"],
                actor=request.user,
            )
    except SignalActionRefused as exc:
        return " ".join(exc.messages)
    return ""


def participant_signals_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = get_object_or_404(
        access.participants_where(request.user, access.SIGNALS).select_related("study", "site"),
        pk=participant_id,
    )
    may_review = access.staff_can(
        request.user,
        access.REVIEW_SIGNALS,
        study_id=participant.study_id,
        site_id=participant.site_id,
    )
    error = ""
    if request.method == "POST":
        if not may_review:
            error = "You may not review signals or raise queries at this participant's site."
        else:
            error = _post(request, participant)
            if not error:
                messages.success(request, "Recorded, and written to the audit trail.")
                return HttpResponseRedirect(
                    reverse("admin:signal_participant", args=[participant.pk])
                )
    thresholds = signal_settings_of(participant.study)
    row = participant_signals(participant=participant, thresholds=thresholds, now=timezone.now())
    reviews = list(
        SignalReview.objects.filter(participant=participant).select_related("reviewed_by")
    )
    latest: dict[str, SignalReview] = {}
    for review in reviews:
        latest.setdefault(review.signal, review)
    row.reviews = latest
    definitions = {d.kind: d for d in signal_definitions(thresholds)}
    context = {
        "participant": participant,
        "cells": [{**cell, "definition": definitions[cell["kind"]]} for cell in row.cells()],
        "clock_rejected": row.detail.get("clock_rejected", 0),
        "trail_value": trail_fingerprint(participant=participant),
        "trail_review": latest.get(SignalKind.TRAIL),
        "reviews": reviews,
        "queries": list(
            DataQuery.objects.filter(participant=participant).select_related(
                "participant", "site", "raised_by", "answered_by", "closed_by"
            )
        ),
        "may_review": may_review,
        "may_read_trail": access.staff_can(
            request.user,
            access.AUDIT_TRAIL,
            study_id=participant.study_id,
            site_id=participant.site_id,
        ),
        "signal_choices": SignalKind.choices,
        "error": error,
    }
    response = admin_page(
        request,
        SignalReview._meta,
        "admin/diary/pages/signal_participant.html",
        f"Data-quality signals of {participant.subject_id}",
        context,
    )
    if error:
        response.status_code = 400
    return response
