"""The emergency unblinding page: only for users granted diary.emergency_unblind by name, for
the participants their membership covers (diary.access.may_emergency_unblind)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from diary import access
from diary.services.unblinding import MIN_REASON_LENGTH, participant_unblind


class UnblindForm(forms.Form):
    study_id = forms.CharField(label="Participant study ID", max_length=32)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        min_length=MIN_REASON_LENGTH,
        help_text="The medical reason. It is recorded in the audit trail.",
    )
    confirm = forms.BooleanField(
        label="I understand that this is recorded and the study's unblinded contacts are told."
    )


def unblinding_view(request: HttpRequest) -> HttpResponse:
    if not access.may_emergency_unblind(request.user):
        raise Http404
    form = UnblindForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        participant = (
            access.participants_visible_to(request.user)
            .filter(subject_id=form.cleaned_data["study_id"])
            .first()
        )
        if participant is None:
            form.add_error("study_id", "No participant with this study ID at your sites.")
        else:
            try:
                result = participant_unblind(
                    participant=participant, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except (PermissionDenied, ValidationError) as exc:
                form.add_error(None, exc.messages[0] if hasattr(exc, "messages") else str(exc))
    context = {
        **admin.site.each_context(request),
        "title": "Emergency unblinding",
        "form": form,
        "result": result,
    }
    response = TemplateResponse(request, "admin/diary/pages/unblinding.html", context)
    response["Cache-Control"] = "no-store"
    return response
