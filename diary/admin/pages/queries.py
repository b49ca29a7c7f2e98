"""Queries to sites: the open, answered and closed ones of the user's sites, answered by the
site and closed by the monitor here, and their CSV export (audited).

A coordinator sees her own site's queries only; a query of another site is not found for her
(the POST names it, so the answer is a message, and nothing is stored).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)

from diary import access
from diary.admin.base import admin_page
from diary.admin.pages.signals import int_or_none
from diary.models import DataQuery, QueryStatus, Study
from diary.rules.local_time import utc_iso
from diary.rules.spreadsheet import formula_neutralise
from diary.services.signals import (
    TEXT_LIMIT,
    SignalActionRefused,
    queries_export_record,
    query_answer,
    query_close,
)

PERM = access.SIGNALS
QUERY_COLUMNS = [
    "query",
    "study",
    "site",
    "participant",
    "about",
    "status",
    "raised_at_utc",
    "raised_by",
    "text",
    "answered_at_utc",
    "answered_by",
    "answer",
    "closed_at_utc",
    "closed_by",
    "close_comment",
]


class QueryActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("answer", "answer"), ("close", "close")])
    query = forms.IntegerField(min_value=1)
    text = forms.CharField(max_length=TEXT_LIMIT)


def _queries(request: HttpRequest) -> tuple[QuerySet[DataQuery], Study | None, str]:
    """The user's queries, filtered by the study and status the request names."""
    scope = access.participants_where(request.user, PERM)
    queries = DataQuery.objects.filter(participant__in=scope.values("pk"))
    study_id = int_or_none(request.GET.get("study"))
    study = (
        Study.objects.filter(pk=study_id, pk__in=scope.values("study_id")).first()
        if study_id
        else None
    )
    if study is not None:
        queries = queries.filter(study=study)
    status = request.GET.get("status", "")
    status = status if status in QueryStatus.values else ""
    if status:
        queries = queries.filter(status=status)
    return queries, study, status


def _act(request: HttpRequest) -> str:
    form = QueryActionForm(request.POST)
    if not form.is_valid():
        return "Give the query and a text: " + "; ".join(
            f"{name}: {' '.join(errs)}" for name, errs in form.errors.items()
        )
    data = form.cleaned_data
    scope = access.participants_where(request.user, PERM)
    query = DataQuery.objects.filter(pk=data["query"], participant__in=scope.values("pk")).first()
    if query is None:
        return f"There is no query {data['query']} at your sites."
    try:
        if data["action"] == "answer":
            query_answer(query=query, answer=data["text"], actor=request.user)
        else:
            query_close(query=query, comment=data["text"], actor=request.user)
    except SignalActionRefused as exc:
        return " ".join(exc.messages)
    return ""


def queries_view(request: HttpRequest) -> HttpResponse:
    if not access.staff_can(request.user, PERM):
        raise Http404
    error = ""
    if request.method == "POST":
        error = _act(request)
        if not error:
            messages.success(request, "Recorded, and written to the audit trail.")
            return HttpResponseRedirect(request.get_full_path())
    queries, study, status = _queries(request)
    shown = list(
        queries.select_related("participant", "site", "raised_by", "answered_by", "closed_by")[:500]
    )
    user = request.user
    sites = {(q.study_id, q.site_id) for q in shown}
    response = admin_page(
        request,
        DataQuery._meta,
        "admin/diary/pages/queries.html",
        "Queries to sites",
        {
            "queries": shown,
            "study": study,
            "status": status,
            "statuses": QueryStatus.choices,
            "actions": True,
            "answer_sites": {
                site
                for study_id, site in sites
                if access.staff_can(user, access.ANSWER_QUERY, study_id=study_id, site_id=site)
            },
            "close_sites": {
                site
                for study_id, site in sites
                if access.staff_can(user, access.REVIEW_SIGNALS, study_id=study_id, site_id=site)
            },
            "error": error,
        },
    )
    if error:
        response.status_code = 400
    return response


def queries_export_view(request: HttpRequest) -> HttpResponse:
    """The listed queries as CSV (the same filters), one audit event per download."""
    if not access.staff_can(request.user, PERM):
        raise Http404
    queries, study, status = _queries(request)
    filters = {"study": study.code if study else "", "status": status}
    rows_of = queries.select_related(
        "study", "participant", "site", "raised_by", "answered_by", "closed_by"
    ).order_by("raised_at", "pk")

    def name(user) -> str:
        return formula_neutralise(user.get_username()) if user is not None else ""

    def when(instant) -> str:
        return utc_iso(instant) if instant is not None else ""

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(QUERY_COLUMNS)
        count = 0
        for q in rows_of.iterator(chunk_size=1000):
            writer.writerow(
                [
                    q.pk,
                    q.study.code,
                    q.site.code,
                    formula_neutralise(q.participant.subject_id),
                    q.signal,
                    q.status,
                    when(q.raised_at),
                    name(q.raised_by),
                    formula_neutralise(q.text),
                    when(q.answered_at),
                    name(q.answered_by),
                    formula_neutralise(q.answer),
                    when(q.closed_at),
                    name(q.closed_by),
                    formula_neutralise(q.close_comment),
                ]
            )
            count += 1
        yield buffer.getvalue()
        queries_export_record(actor=request.user, filters=filters, rows=count)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="queries.csv"'
    return response
