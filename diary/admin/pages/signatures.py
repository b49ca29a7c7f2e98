"""The investigator's signing page for one participant's casebook: what she signs (its hash,
its contents on the participant's page), the signatures so far and whether each still holds,
and the form that re-authenticates her (password and authenticator code) and signs. She signs
her whole casebook, or, with ?milestone=<period>, her data up to a milestone of the study
(Study.signing_milestones) once it is reached.

Only the investigator of the participant's site opens it (diary.access.may_sign); the
signature itself is made by diary.services.signatures."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from diary import access
from diary.admin.participants import participant_record
from diary.models import SIGNATURE_MEANING
from diary.selectors.casebook import signature_states
from diary.services.signatures import casebook_sign


class SignForm(forms.Form):
    hash_seen = forms.CharField(widget=forms.HiddenInput)
    milestone = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    time_zone = forms.CharField(
        label="Your time zone",
        max_length=64,
        help_text="IANA name, e.g. Europe/Copenhagen: the record shows the time in it and in UTC.",
    )
    confirm = forms.BooleanField(label=SIGNATURE_MEANING, required=True)


def casebook_sign_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = get_object_or_404(
        access.participants_where(request.user, access.SIGN_CASEBOOK).select_related(
            "study", "site"
        ),
        pk=participant_id,
    )
    states = signature_states(participant=participant)
    wanted = request.POST.get("milestone") or request.GET.get("milestone") or None
    state = next((s for s in states if s.defined and str(s.milestone) == str(wanted)), None)
    if state is None:
        raise Http404("The study defines no such milestone.")
    initial = {
        "hash_seen": state.current_hash,
        "time_zone": participant.study.time_zone,
        "milestone": state.milestone,
    }
    form = SignForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                casebook_sign(
                    participant=participant,
                    actor=request.user,
                    password=data["password"],
                    token=data["token"],
                    hash_seen=data["hash_seen"],
                    time_zone=data["time_zone"].strip(),
                    milestone=data["milestone"],
                )
            except PermissionDenied as exc:
                raise Http404 from exc
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                signed = "casebook" if state.milestone is None else f"casebook ({state.label})"
                messages.success(request, f"The {signed} of {participant.subject_id} is signed.")
                return redirect("admin:diary_participant_change", participant.pk)
        status = 400
    context = {
        **admin.site.each_context(request),
        "title": f"Sign the casebook of {participant.subject_id}",
        "participant": participant,
        "original": participant,
        "state": state,
        "states": states,
        "form": form,
        "meaning": SIGNATURE_MEANING,
        **participant_record(participant),
    }
    return TemplateResponse(request, "admin/diary/pages/casebook_sign.html", context, status=status)
