"""Reporting and correcting period dates."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from diary.access import participant_required
from diary.forms import ClosingStartForm, PeriodCorrectForm, PeriodEndForm, PeriodStartForm
from diary.models import MenstrualPeriod, Participant
from diary.selectors.periods import local_today, period_correctable
from diary.services.periods import (
    period_closing_report,
    period_correct,
    period_end_report,
    period_start_report,
)


def period_of(participant: Participant, pk: int) -> MenstrualPeriod:
    """The participant's own period; anyone else's id is a 404."""
    return get_object_or_404(
        MenstrualPeriod.objects.select_related("participant__study"),
        pk=pk,
        participant=participant,
    )


@login_required
@require_http_methods(["GET", "POST"])
def period_start(request: HttpRequest) -> HttpResponse:
    participant = participant_required(request)
    form = PeriodStartForm(_posted(request), today=local_today(participant, timezone.now()))
    if request.method == "POST" and form.is_valid():
        try:
            period = period_start_report(
                participant=participant,
                started_on=form.cleaned_data["started_on"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error("started_on", exc)
        else:
            messages.success(
                request,
                _("Thank you. Period %(n)s started on %(day)s.")
                % {"n": period.number, "day": _day(period.started_on)},
            )
            return redirect("diary:home")
    return render(request, "diary/period_start.html", {"form": form, "participant": participant})


@login_required
@require_http_methods(["GET", "POST"])
def period_closing(request: HttpRequest) -> HttpResponse:
    """The start of her next period after the study's last one: no questionnaire follows."""
    participant = participant_required(request)
    form = ClosingStartForm(_posted(request), today=local_today(participant, timezone.now()))
    if request.method == "POST" and form.is_valid():
        try:
            closing = period_closing_report(
                participant=participant,
                started_on=form.cleaned_data["started_on"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error("started_on", exc)
        else:
            messages.success(
                request,
                _("Thank you. Your next period started on %(day)s. There is no questionnaire "
                  "for it.") % {"day": _day(closing.started_on)},
            )  # fmt: skip
            return redirect("diary:home")
    context = {"form": form, "participant": participant}
    return render(request, "diary/period_closing.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def period_end(request: HttpRequest, pk: int) -> HttpResponse:
    participant = participant_required(request)
    period = period_of(participant, pk)
    form = PeriodEndForm(_posted(request), today=local_today(participant, timezone.now()))
    if request.method == "POST" and form.is_valid():
        try:
            period_end_report(
                period=period, ended_on=form.cleaned_data["ended_on"], actor=request.user
            )
        except ValidationError as exc:
            form.add_error("ended_on", exc)
        else:
            messages.success(
                request,
                _("Thank you. Period %(n)s ended on %(day)s.")
                % {"n": period.number, "day": _day(form.cleaned_data["ended_on"])},
            )
            return redirect("diary:home")
    return render(request, "diary/period_end.html", {"form": form, "period": period})


@login_required
@require_http_methods(["GET", "POST"])
def period_correction(request: HttpRequest, pk: int) -> HttpResponse:
    participant = participant_required(request)
    period = period_of(participant, pk)
    now = timezone.now()
    correctable = period_correctable(period, now)
    if not any(correctable.values()):
        messages.error(
            request,
            _("These dates can no longer be corrected here. Please contact your study team."),
        )
        return redirect("diary:home")
    form = PeriodCorrectForm(
        _posted(request),
        period=period,
        correctable=correctable,
        today=local_today(participant, now),
    )
    if request.method == "POST" and form.is_valid():
        try:
            period_correct(period=period, actor=request.user, now=now, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Thank you. The dates of period %(n)s are corrected.") % {"n": period.number},
            )
            return redirect("diary:home")
    return render(request, "diary/period_correct.html", {"form": form, "period": period})


def _day(day: date) -> str:
    return date_format(day, _("j F Y"))


def _posted(request: HttpRequest) -> QueryDict | None:
    # An empty POST must still be a bound form, so it gets "This field is required".
    return request.POST if request.method == "POST" else None
