"""Her history: the answers she submitted, in the wording she saw, and her requests to change
one ("this answer is wrong"), with the site's decision."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from diary.access import participant_required
from diary.forms import ChangeRequestForm
from diary.models import Assessment, Participant, Response
from diary.selectors.casebook import change_requests_of
from diary.selectors.responses import response_read
from diary.services.change_requests import ChangeRequestRefused, change_request_make


def _submitted_of(participant: Participant, pk: int) -> Assessment:
    """Her own questionnaire with answers; anyone else's id is a 404."""
    return get_object_or_404(
        Assessment.objects.filter(responses__isnull=False).distinct(),
        pk=pk,
        participant=participant,
    )


@login_required
@require_GET
def history(request: HttpRequest, pk: int) -> HttpResponse:
    participant = participant_required(request)
    assessment = _submitted_of(participant, pk)
    # The answers that stand now: a corrected response is shown by its correction.
    current = assessment.responses.filter(superseded_by__isnull=True).order_by("pk")
    requests = [
        r
        for r in change_requests_of(participant=participant)
        if r.response.assessment_id == assessment.pk
    ]
    return render(
        request,
        "diary/history.html",
        {
            "assessment": assessment,
            "parts": [(r, response_read(response=r)) for r in current],
            "requests": requests,
            # "<response id>:<item>" of the answers she has already asked about.
            "pending_ids": {
                f"{r.response_id}:{r.item_key}" for r in requests if r.status == "pending"
            },
        },
    )


def _her_response(participant: Participant, response_id: int) -> Response:
    return get_object_or_404(
        Response.objects.select_related("assessment"),
        pk=response_id,
        assessment__participant=participant,
    )


@login_required
@require_http_methods(["GET", "POST"])
def change_request(request: HttpRequest, response_id: int, item_key: str) -> HttpResponse:
    participant = participant_required(request)
    response = _her_response(participant, response_id)
    read = response_read(response=response)
    answer = next((a for a in read.answers if a.key == item_key), None)
    if answer is None:
        raise Http404("No such answer.")
    form = ChangeRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                change_request_make(
                    participant=participant,
                    response=response,
                    item_key=item_key,
                    reason=form.cleaned_data["reason"],
                )
            except PermissionDenied as exc:
                raise Http404 from exc
            except ChangeRequestRefused as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Thank you. Your study team will look at this answer."))
                return redirect("diary:history", pk=response.assessment_id)
        status = 400
    context = {
        "form": form,
        "answer": answer,
        "assessment": response.assessment,
        "language": read.language,
    }
    return render(request, "diary/change_request.html", context, status=status)
