"""A study's signal thresholds: read by everyone who reads its signals, set by those holding
diary.change_studysignalsettings for every site of the study (the study admin). A value out of
its range is refused with the range, and nothing is stored."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse

from diary import access
from diary.admin.base import admin_page
from diary.models import THRESHOLD_RANGES, Study, StudySignalSettings
from diary.selectors.signals import signal_definitions, signal_settings_of
from diary.services.signals import SignalActionRefused, signal_settings_update

VIEW = "diary.view_studysignalsettings"


class ThresholdsForm(forms.ModelForm):
    class Meta:
        model = StudySignalSettings
        fields = list(THRESHOLD_RANGES)


def signal_settings_view(request: HttpRequest, study_code: str) -> HttpResponse:
    study = get_object_or_404(
        Study.objects.filter(pk__in=access.study_ids_where(request.user, VIEW)), code=study_code
    )
    may_change = access.staff_can(request.user, access.SIGNAL_SETTINGS, study_id=study.pk)
    current = signal_settings_of(study)
    form = ThresholdsForm(instance=current)
    status = 200
    if request.method == "POST":
        if not may_change:
            raise Http404
        form = ThresholdsForm(request.POST, instance=signal_settings_of(study))
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in THRESHOLD_RANGES}
            try:
                signal_settings_update(study=study, values=values, actor=request.user)
            except SignalActionRefused as exc:
                form.add_error(None, exc)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, "Thresholds saved, and written to the audit trail.")
                return HttpResponseRedirect(reverse("admin:signal_settings", args=[study.code]))
        status = 400
    response = admin_page(
        request,
        StudySignalSettings._meta,
        "admin/diary/pages/signal_settings.html",
        f"Signal thresholds of {study.code}",
        {
            "study": study,
            "form": form,
            "may_change": may_change,
            "definitions": signal_definitions(current),
        },
    )
    response.status_code = status
    return response
