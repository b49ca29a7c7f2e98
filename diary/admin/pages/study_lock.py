"""The study lock page: the unblinded data managers of a study propose a soft or hard lock (or
its lifting) with a reason, and a second one confirms or rejects it (diary.services.study_lock).
Anyone else: 404 (diary.access.lock_study_ids)."""

from __future__ import annotations

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from diary import access
from diary.models import (
    LockChangeStatus,
    LockLevel,
    SiteCopy,
    SiteCopyStatus,
    SiteCopyTrigger,
    Study,
    StudyLockChange,
)
from diary.selectors.study_lock import study_lock_states
from diary.services.study_lock import (
    MIN_REASON_LENGTH,
    study_lock_confirm,
    study_lock_propose,
    study_lock_reject,
)
from diary.tasks import site_copy_queue


class ProposeForm(forms.Form):
    study = forms.CharField(widget=forms.HiddenInput)
    level = forms.ChoiceField(label="New level", choices=LockLevel.choices)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"At least {MIN_REASON_LENGTH} characters; recorded in the audit trail.",
    )


class DecideForm(forms.Form):
    change = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("confirm", "Confirm"), ("reject", "Reject")])
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _message(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


@require_http_methods(["GET", "POST"])
def study_lock_view(request: HttpRequest) -> HttpResponse:
    study_ids = access.lock_study_ids(request.user)
    if not study_ids:
        raise Http404
    if request.method == "POST":
        error = _post(request, study_ids)
        if error is None:
            return HttpResponseRedirect(reverse("admin:study_lock"))
        messages.error(request, error)
    context = {
        **admin.site.each_context(request),
        "title": "Study lock",
        "states": study_lock_states(study_ids=study_ids),
        "levels": LockLevel.choices,
    }
    response = TemplateResponse(request, "admin/diary/pages/study_lock.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _post(request: HttpRequest, study_ids: list[int]) -> str | None:
    """Carry out the posted proposal or decision; the refusal's message, or None when done."""
    try:
        if "change" in request.POST:
            form = DecideForm(request.POST)
            if not form.is_valid():
                return "Choose whether to confirm or reject the change."
            change = get_object_or_404(
                StudyLockChange, pk=form.cleaned_data["change"], study__in=study_ids
            )
            if change.status != LockChangeStatus.PENDING:
                return f"This request is already {change.get_status_display().lower()}."
            if form.cleaned_data["decision"] == "confirm":
                with transaction.atomic():
                    study_lock_confirm(change=change, actor=request.user)
                    # A hard lock queued each site's copy: their tasks go out on commit.
                    for copy_id in SiteCopy.objects.filter(
                        study_id=change.study_id,
                        status=SiteCopyStatus.QUEUED,
                        trigger=SiteCopyTrigger.AT_LOCK,
                    ).values_list("pk", flat=True):
                        transaction.on_commit(partial(site_copy_queue, copy_id))
            else:
                study_lock_reject(
                    change=change, actor=request.user, reason=form.cleaned_data["reason"]
                )
            messages.success(
                request, f"{change.study.code}: change {form.cleaned_data['decision']}ed."
            )
            return None
        form = ProposeForm(request.POST)
        if not form.is_valid():
            return "Choose a level and give a reason."
        study = get_object_or_404(Study, code=form.cleaned_data["study"], pk__in=study_ids)
        study_lock_propose(
            study=study,
            level=form.cleaned_data["level"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
        messages.success(request, f"{study.code}: proposed; a second data manager confirms it.")
        return None
    except (ValidationError, PermissionDenied) as exc:
        return _message(exc)
