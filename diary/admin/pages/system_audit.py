"""The system audit view: the events of no study (staff logins, failed logins and lockouts of
no participant, audit-trail downloads, instrument loads), which no study's list shows, with
the study events the reader's roles show her; filtered, paged and downloadable (audited).

Who opens it and what it lists is the access policy's (diary.access.may_view_system_audit,
system_audit_events_where): superusers, and staff given diary.view_system_audit by name.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from diary import access
from diary.admin.pages.audit import AuditFilterForm, audit_csv_response
from diary.selectors.audit import system_audit_events

PAGE_SIZE = 100


class SystemAuditFilterForm(AuditFilterForm):
    study_id = None  # system events have no participant
    actor = forms.CharField(required=False, max_length=150, help_text="User name, exactly")
    field_order = ["action", "actor", "since", "until"]


def system_audit_view(request: HttpRequest) -> HttpResponse:
    """GET lists the filtered events, newest first, a page at a time; with `download` they
    stream as CSV, oldest first, and the download is itself audited. A filter that does not
    hold is answered 400 with the form saying why."""
    if not access.may_view_system_audit(request.user):
        raise Http404
    form = SystemAuditFilterForm(request.GET or None, user=request.user)
    valid = form.is_valid() if form.is_bound else True
    filters = (
        {k: form.cleaned_data.get(k) for k in ("action", "actor", "since", "until")}
        if form.is_bound and valid
        else {}
    )
    if "download" in request.GET and valid:
        events = system_audit_events(request.user, **filters).order_by("occurred_at", "id")
        return audit_csv_response(
            request,
            events,
            kind="system_audit_trail",
            filters={k: (str(v) if v else "") for k, v in filters.items()},
            filename="system_audit_trail.csv",
        )
    page = None
    if valid:
        number = request.GET.get("p", "1")
        page = Paginator(system_audit_events(request.user, **filters), PAGE_SIZE).get_page(number)
    query = {k: str(v) for k, v in filters.items() if v}
    context = {
        **admin.site.each_context(request),
        "title": "System audit trail",
        "form": form,
        "page": page,
        "rows": [
            (event, json.dumps(event.details, sort_keys=True) if event.details else "")
            for event in (page.object_list if page is not None else ())
        ],
        "download_query": urlencode({**query, "download": "1"}),
        "filter_query": urlencode(query),
    }
    return TemplateResponse(
        request,
        "admin/diary/pages/system_audit.html",
        context,
        status=200 if valid else 400,
    )
