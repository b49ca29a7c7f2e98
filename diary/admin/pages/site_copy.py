"""The site copy page: the holders of diary.site_copy at a site ask for its copy, follow its
progress and download it (diary.services.site_copy). Anyone else: 404, and a copy of another
site does not exist for her."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from diary import access
from diary.models import SiteCopy, SiteCopyStatus
from diary.selectors.site_copy import site_copies_recent
from diary.services.site_copy import site_copy_download, site_copy_request
from diary.tasks import site_copy_queue


@require_http_methods(["GET", "POST"])
def site_copy_view(request: HttpRequest) -> HttpResponse:
    sites = access.site_copy_sites(request.user)
    if not sites.exists():
        raise Http404
    if request.method == "POST":
        site = get_object_or_404(sites, pk=request.POST.get("site") or 0)
        try:
            with transaction.atomic():
                copy = site_copy_request(site=site, actor=request.user)
                transaction.on_commit(partial(site_copy_queue, copy.pk))
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, f"The copy of site {site.code} is being made.")
        return HttpResponseRedirect(reverse("admin:site_copy"))
    copies = site_copies_recent(sites=sites)
    context = {
        **admin.site.each_context(request),
        "title": "The site's own copy",
        "sites": list(sites.order_by("study__code", "code")),
        "copies": copies,
        "busy": any(c.status in (SiteCopyStatus.QUEUED, SiteCopyStatus.RUNNING) for c in copies),
    }
    response = TemplateResponse(request, "admin/diary/pages/site_copy.html", context)
    response["Cache-Control"] = "no-store"
    return response


def site_copy_download_view(request: HttpRequest, copy_id: int) -> HttpResponse:
    sites = access.site_copy_sites(request.user)
    copy = get_object_or_404(
        SiteCopy.objects.select_related("study", "site"), pk=copy_id, site__in=sites
    )
    # Only after the access check: to anyone else the copy does not exist, whatever the method.
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    try:
        name, chunks = site_copy_download(copy=copy, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        raise Http404 from exc
    response = HttpResponse(b"".join(chunks), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
