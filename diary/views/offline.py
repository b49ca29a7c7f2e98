"""The installable diary: the web app manifest, the service worker, and which pages it may keep.

Both files are served by the application from the site root, so the service worker's scope is
"/" without a Service-Worker-Allowed header, and both are covered by the site's CSP (no inline
script: the worker is a script file of its own). They hold no one's data, so anyone may fetch
them; what the worker keeps is decided per page by `offline_cacheable`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.html import escape
from django.utils.http import quote_etag
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

# The app shell: everything a participant page loads, so that a page kept by the worker
# renders offline with its styles and scripts.
SHELL_FILES = (
    "bootstrap/css/bootstrap.min.css",
    "diary/diary.css",
    "diary/entry.js",
    "diary/vas.js",
    "diary/offline.js",
    "diary/icons/icon-192.png",
    "diary/icons/icon-512.png",
    "diary/icons/maskable-512.png",
)
# The header the worker looks for before it keeps a page (templates/diary/offline/sw.js).
CACHEABLE_HEADER = "X-Offline-Cache"
THEME_COLOUR = "#0d6efd"


def offline_cacheable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Marks the participant's own pages (home, her questionnaire) as ones the service worker
    may keep for offline use. Only a page (GET) rendered for her with 200 is marked: a
    redirect, a refusal or an error page is not, and no other view sends the header, so login,
    admin and staff pages are never stored on the device. Place inside login_required, so an
    anonymous visitor's redirect is never marked either."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200:
            response[CACHEABLE_HEADER] = "1"
        return response

    return wrapper


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    data = {
        "name": _("Study diary"),
        "short_name": _("Diary"),
        "description": _("Your questionnaires after each period"),
        "lang": request.LANGUAGE_CODE,
        "id": reverse("diary:home"),
        "start_url": reverse("diary:home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [
            {"src": static("diary/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("diary/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("diary/icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(data, content_type="application/manifest+json")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    precache = [static(name) for name in SHELL_FILES]
    # The hashed names of the static files change with their content (manifest storage), so a
    # new deployment gets a new cache name and the old shell is deleted at activation.
    version = hashlib.sha256(json.dumps(precache).encode()).hexdigest()[:16]
    title = escape(_("You are offline"))
    text = escape(
        _("This page is not kept on this device. Your diary opens again when you are online.")
    )
    body = render_to_string(
        "diary/offline/sw.js",
        {
            "version": version,
            "static_prefix": settings.STATIC_URL,
            "precache": json.dumps(precache),
            "offline_html": json.dumps(
                '<!doctype html><html><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{title}</title></head><body><main><h1>{title}</h1>"
                f"<p>{text}</p></main></body></html>"
            ),
        },
    )
    # Browsers check for a new worker at most daily anyway; no-cache makes them ask each time,
    # and the ETag (of the script as rendered: language and deployment) makes an unchanged
    # worker cost a 304 without a body on a slow line.
    etag = quote_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


@require_GET
def logged_out(request: HttpRequest) -> HttpResponse:
    """Where logging out lands: the page's script deletes the outbox and the kept pages from
    the device (offline.js, `data-clear-device`). Someone still logged in is sent home, so a
    link to this page cannot wipe her unsent answers."""
    if request.user.is_authenticated:
        return redirect("diary:home")
    return render(request, "diary/logged_out.html")
