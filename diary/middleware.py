"""Per-request wiring: health check, request id, security headers, the participant's language
and zone, and staff kept on the admin side."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pghistory
from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation

from diary.access import participant_of
from diary.request_context import current_client_request_id, current_request_id, current_user

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Makes the request's id on the server and echoes it in the response; notes the request's
    user for events recorded where Django passes no request (after AuthenticationMiddleware).

    A client (or a proxy) may send X-Request-ID, but it cannot choose the id the audit trail
    groups events by: a chosen id could reuse another request's. A well-formed one is kept as
    `client_request_id` (audit event details, row-history context), for matching with a
    proxy's logs; anything else is dropped.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        client_request_id = incoming if _SAFE_ID.match(incoming) else ""
        request_id = uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        context = {"request_id": request_id}
        if client_request_id:
            context["client_request_id"] = client_request_id
        token = current_request_id.set(request_id)
        client_token = current_client_request_id.set(client_request_id)
        user_token = current_user.set(getattr(request, "user", None))
        try:
            with pghistory.context(**context):
                response = self.get_response(request)
        finally:
            current_user.reset(user_token)
            current_client_request_id.reset(client_token)
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class HealthCheckMiddleware:
    """GET /healthz: 200 when the database answers, 503 otherwise. Reveals nothing else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != "/healthz":
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return HttpResponse("database unavailable", status=503, content_type="text/plain")
        return HttpResponse("ok", content_type="text/plain")


class ContentSecurityPolicyMiddleware:
    """Sends the CONTENT_SECURITY_POLICY header on every response that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class ParticipantLocaleMiddleware:
    """On diary pages, a logged-in participant sees her language and her time zone.

    The language is stored on her record rather than only in a cookie, so it follows her to a
    new phone and into e-mails; dates and times show in Participant.time_zone, the zone her
    windows are computed in. Only views of the diary app are affected (the admin and other apps
    pay no query for it). Place after AuthenticationMiddleware (and LocaleMiddleware).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        previous = translation.get_language()
        try:
            response = self.get_response(request)
            if getattr(request, "participant_language", None):
                response.headers["Content-Language"] = request.participant_language
            return response
        finally:
            timezone.deactivate()
            translation.activate(previous)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        match = request.resolver_match
        if match is None or match.app_name != "diary":
            return None
        participant_locale_activate(request)
        return None


def participant_locale_activate(request: HttpRequest) -> None:
    """Her language and time zone for the rest of the request, if a participant is logged in:
    what ParticipantLocaleMiddleware does before a diary view, and what the diary's login does
    once she has logged in (the middleware saw an anonymous visitor)."""
    participant = participant_of(request.user)
    if participant is None:
        return
    if participant.language in {code for code, _ in settings.LANGUAGES}:
        translation.activate(participant.language)
        request.LANGUAGE_CODE = participant.language
        request.participant_language = participant.language
    timezone.activate(ZoneInfo(participant.time_zone))


class StaffToAdminMiddleware:
    """Staff who open a diary page while logged in (a bookmark, the site root, the diary's
    login page) are sent to the admin index, with a line saying why, instead of a 404.

    Before any diary view runs, so a staff POST stores nothing. Logging out stays possible.
    Staff still never log in at the diary's login (diary.forms.LoginForm refuses them as a
    wrong password): this applies only to a session opened at the admin. Place after
    AuthenticationMiddleware and MessageMiddleware.
    """

    ALLOWED = frozenset({"logout"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.app_name != "diary" or match.url_name in self.ALLOWED:
            return None
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return None
        messages.info(
            request,
            "The diary is for participants. Staff work here, in the study administration.",
            fail_silently=True,
        )
        return redirect("admin:index")
