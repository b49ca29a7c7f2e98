"""The participant's account pages: invitation, password, language."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_http_methods, require_POST

from diary.access import participant_of
from diary.forms import LinkPasswordForm, PasswordForgottenForm
from diary.lockout import client_address
from diary.services.accounts import (
    ResetRateLimited,
    participant_language_set,
    password_reset_request,
)
from diary.services.invitations import InvitationInvalid, invitation_accept, invitation_check
from diary.tasks import password_reset_queue

AUTH_BACKEND = "diary.auth.StudyIdOrEmailBackend"


INVITATION_SESSION_KEY = "invitation_token"


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Step 1: opening the link only shows a button; mail scanners' GETs change nothing."""
    try:
        invite = invitation_check(token=token)
    except InvitationInvalid as exc:
        return render(
            request, "diary/invitation_invalid.html", {"message": exc.message}, status=410
        )
    if request.method == "POST":
        request.session[INVITATION_SESSION_KEY] = token
        return redirect("diary:invitation_password")
    return render(request, "diary/invitation_confirm.html", {"purpose": invite.purpose})


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
    form = LinkPasswordForm(invite.participant.user, request.POST or None)
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
        login(request, participant.user, backend=AUTH_BACKEND)
        messages.success(request, _("Your password is set. Welcome to your study diary."))
        return redirect("diary:home")
    return render(
        request, "diary/invitation_password.html", {"form": form, "purpose": invite.purpose}
    )


@require_http_methods(["GET", "POST"])
def password_forgotten(request: HttpRequest) -> HttpResponse:
    """Same answer, and the same work, whether or not the account exists: the request is
    recorded and a task does the rest (diary.services.accounts), so the page reveals no
    participant. Too many requests are refused with 429."""
    form = PasswordForgottenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"]
        try:
            password_reset_request(identifier=identifier, address=client_address(request) or None)
        except ResetRateLimited as exc:
            form.add_error(None, exc.message)
            return render(request, "diary/password_forgotten.html", {"form": form}, status=429)
        transaction.on_commit(lambda: password_reset_queue(identifier))
        return render(request, "diary/password_forgotten_sent.html")
    return render(request, "diary/password_forgotten.html", {"form": form})


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a participant's choice is kept on her record too."""
    participant = participant_of(request.user)
    chosen = request.POST.get("language", "")
    if chosen not in {code for code, _name in settings.LANGUAGES}:
        # Only a tampered form sends another code. set_language would ignore most silently but
        # take a variant such as "da-DK" into the cookie, unlike her record: neither, and say so.
        messages.error(request, _("This language is not available."))
        return HttpResponseRedirect(_safe_next(request))
    if participant is not None:
        participant_language_set(participant=participant, language=chosen)
    return i18n.set_language(request)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("diary:home")
