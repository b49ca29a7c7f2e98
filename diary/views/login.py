"""The diary's login: in one round trip, landing on what she came to do.

Django's LoginView answers a good login with a redirect, and the browser then asks for the page
it names: on a slow line every request waits its latency again (two seconds on "Slow 3G",
bench/bench_phone.py). Here the POST that logs her in is answered with the page itself: the safe
`next` she came with, or else her open questionnaire (where the home page's button would take
her: "Fill in", or "Continue" at the page it resumes on), or else her home page, rendered by
that page's own view after login(), as a GET of its URL would be.

The response says where it came from (Content-Location) and the page's script (offline.js,
`data-landed`: the CSP allows no inline script) puts that URL in the address bar with
history.replaceState, so that a reload is a GET of the page, never the login POST again, and
asks the service worker to keep the page for offline use (the worker keeps only GET responses).

Everything else is Django's LoginView, unchanged: the form (LoginForm, which refuses staff),
failed logins and the lockout (axes), login() with its session key cycling and CSRF rotation,
the audit of the login (the user_logged_in receiver). When the page's view answers anything but
a 200 HTML page (a redirect, a 404, a refusal), the login answers with today's redirect.
"""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, get_script_prefix, resolve
from django.utils.datastructures import MultiValueDict
from django.utils.encoding import iri_to_uri

from diary.access import participant_of
from diary.forms import LoginForm
from diary.middleware import participant_locale_activate
from diary.selectors.home import questionnaire_due
from diary.views.offline import CACHEABLE_HEADER

# The request attribute base.html reads into <body data-landed>, for offline.js.
LANDED_ATTRIBUTE = "diary_landed"


def page_as_get(request: HttpRequest, url: str) -> HttpResponse | None:
    """The diary page at `url` as its own view renders it for a GET in this request (the user
    who has just logged in, her language and time zone), or None when it is not a diary page."""
    parts = urlsplit(url)
    prefix = get_script_prefix()
    if parts.scheme or parts.netloc or not parts.path.startswith(prefix):
        return None
    path_info = "/" + parts.path[len(prefix) :]
    try:
        match = resolve(path_info)
    except Resolver404:
        return None
    if match.app_name != "diary":
        return None
    get = copy.copy(request)
    # Her own META (the query string and method of the page, not of the login), sharing the
    # rest: the session, the user, the messages, the rotated CSRF token the page's forms carry.
    get.META = {
        **request.META,
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": parts.query,
        "PATH_INFO": path_info,
        "CONTENT_LENGTH": "",
        "CONTENT_TYPE": "",
    }
    get.method = "GET"
    get.path = parts.path
    get.path_info = path_info
    get.GET = QueryDict(parts.query)
    get.POST = QueryDict()
    get._files = MultiValueDict()
    get.resolver_match = match
    setattr(get, LANDED_ATTRIBUTE, landed_url(url))
    try:
        return match.func(get, *match.args, **match.kwargs)
    except (Http404, PermissionDenied):
        return None


def landed_url(url: str) -> str:
    """The page's path and query: what the address bar shows once she has landed."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def is_html_page(response: HttpResponse | None) -> bool:
    return (
        response is not None
        and response.status_code == 200
        and not response.streaming
        and response.get("Content-Type", "").startswith("text/html")
    )


class DiaryLoginView(LoginView):
    template_name = "diary/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form) -> HttpResponse:
        redirect = super().form_valid(form)  # login(), and Django's redirect as the fallback
        request = self.request
        participant = participant_of(request.user)
        if participant is None:
            return redirect
        participant_locale_activate(request)
        url = self.get_redirect_url()  # `next`, if it is safe
        if not url:
            due = questionnaire_due(participant=participant)
            url = due.url if due is not None else redirect.url
        page = page_as_get(request, url)
        if not is_html_page(page):
            return redirect
        # The answer to a POST: never kept by the worker as it is (it fetches the page itself).
        if CACHEABLE_HEADER in page:
            del page[CACHEABLE_HEADER]
        page["Content-Location"] = iri_to_uri(landed_url(url))
        return page
