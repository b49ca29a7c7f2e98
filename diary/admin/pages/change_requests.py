"""The site's view of participants' change requests: the list (every study role reads it,
within her sites) and the decision page (the site's coordinator or investigator: accept by
entering the corrected value, or decline with a reason).

Nothing is written here: the decision goes through diary.services.change_requests, whose
acceptance is a correction (diary.services.corrections)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from diary import access
from diary.admin.pages.corrections import answer_fields
from diary.models import DataChangeRequest
from diary.selectors.casebook import change_late_label, change_requests_visible_to, current_response
from diary.selectors.questionnaire import modules_collected
from diary.selectors.responses import response_read
from diary.services.change_requests import change_request_accept, change_request_decline
from diary.services.corrections import MIN_REASON_LENGTH
from scoring.selectors import structure_for

DECISIONS = (("accept", "Accept: correct the answer"), ("decline", "Decline"))


def change_requests_view(request: HttpRequest) -> HttpResponse:
    if not access.staff_can(request.user, access.VIEW_PARTICIPANT):
        raise Http404
    requests = list(change_requests_visible_to(request.user))
    for item in requests:
        item.late = change_late_label(item)
        item.may_decide = item.status == "pending" and access.may_decide_change(
            request.user, item.participant
        )
    context = {
        **admin.site.each_context(request),
        "title": "Change requests from participants",
        "requests": requests,
    }
    return TemplateResponse(request, "admin/diary/pages/change_requests.html", context)


def _decision_form(response, item_key: str, data=None) -> forms.Form:
    """The decision, the corrected value of the one answer she named (for an acceptance) and
    the reason, which she reads on her history."""
    instrument = structure_for(key=response.instrument_key, version=response.instrument_version)
    modules = modules_collected(
        study=response.assessment.participant.study, instrument_key=response.instrument_key
    )
    fields = {
        "decision": forms.ChoiceField(choices=DECISIONS, widget=forms.RadioSelect),
        "reason": forms.CharField(
            widget=forms.Textarea(attrs={"rows": 3}),
            min_length=MIN_REASON_LENGTH,
            help_text="Why you accept or decline. She reads it on her history; it is recorded "
            "in the audit trail.",
        ),
    }
    item_field = answer_fields(instrument, modules, "").get(item_key)
    if item_field is not None:
        fields = {
            "decision": fields["decision"],
            "new_value": item_field,
            "reason": fields["reason"],
        }
        fields["new_value"].label = "Corrected answer (for an acceptance)"
    return type("DecisionForm", (forms.Form,), fields)(data)


def change_request_decide_view(request: HttpRequest, request_id: int) -> HttpResponse:
    change = get_object_or_404(
        DataChangeRequest.objects.select_related(
            "participant__study", "response__assessment__participant__study"
        ),
        pk=request_id,
        participant__in=access.participants_where(request.user, access.DECIDE_CHANGE),
    )
    standing = current_response(response=change.response)
    answer = next(
        (a for a in response_read(response=standing).answers if a.key == change.item_key), None
    )
    form = _decision_form(standing, change.item_key, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["decision"] == "accept":
                    change_request_accept(
                        request=change,
                        new_value=data.get("new_value"),
                        reason=data["reason"],
                        actor=request.user,
                    )
                else:
                    change_request_decline(
                        request=change, reason=data["reason"], actor=request.user
                    )
            except PermissionDenied as exc:
                raise Http404 from exc
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                done = (
                    "accepted: the answer is corrected"
                    if data["decision"] == "accept"
                    else "declined"
                )
                messages.success(request, f"Change request {change.pk} {done}.")
                return redirect("admin:change_requests")
        status = 400
    context = {
        **admin.site.each_context(request),
        "title": f"Change request {change.pk} of {change.participant.subject_id}",
        "change": change,
        "answer": answer,
        "form": form,
        "late": change_late_label(change),
    }
    return TemplateResponse(
        request, "admin/diary/pages/change_request_decide.html", context, status=status
    )
