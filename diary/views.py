"""The participant's diary pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from diary import access, selectors
from diary.services.invitations import InvitationInvalid, invitation_accept, invitation_check


def participant_required(request: HttpRequest):
    participant = access.participant_of(request.user)
    if participant is None:
        # Staff and strangers get no hint that a diary exists for this account.
        raise Http404("No diary for this account.")
    return participant


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    participant = participant_required(request)
    return render(
        request,
        "diary/home.html",
        {"participant": participant, **selectors.diary_overview(participant=participant)},
    )


INVITATION_SESSION_KEY = "invitation_token"


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Step 1: opening the link only shows a button; mail scanners' GETs change nothing."""
    try:
        invitation_check(token=token)
    except InvitationInvalid as exc:
        return render(
            request, "diary/invitation_invalid.html", {"message": exc.message}, status=410
        )
    if request.method == "POST":
        request.session[INVITATION_SESSION_KEY] = token
        return redirect("diary:invitation_password")
    return render(request, "diary/invitation_confirm.html")


@require_http_methods(["GET", "POST"])
def invitation_password(request: HttpRequest) -> HttpResponse:
    """Step 2: choose a password; the link is used up only when this succeeds."""
    token = request.session.get(INVITATION_SESSION_KEY, "")
    try:
        invite = invitation_check(token=token)
    except InvitationInvalid as exc:
        return render(
            request, "diary/invitation_invalid.html", {"message": exc.message}, status=410
        )
    form = SetPasswordForm(invite.participant.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            participant = invitation_accept(
                token=token, password=form.cleaned_data["new_password1"]
            )
        except InvitationInvalid as exc:
            return render(
                request, "diary/invitation_invalid.html", {"message": exc.message}, status=410
            )
        request.session.pop(INVITATION_SESSION_KEY, None)
        login(request, participant.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Your password is set. Welcome to your study diary."))
        return redirect("diary:home")
    return render(request, "diary/invitation_password.html", {"form": form})
