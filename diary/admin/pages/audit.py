"""Inspector views in the admin: a participant's audit timeline and the audit CSV export
(its filter form and CSV writer are shared with the system audit view)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from diary import access
from diary.models import UNBLINDED_ACTIONS, AuditAction, AuditEvent
from diary.rules.local_time import utc_iso
from diary.rules.spreadsheet import formula_neutralise
from diary.selectors.audit import audit_events_visible_to, participant_timeline
from diary.selectors.audit_chain import audit_chain_status
from diary.services.audit import audit_record

AUDIT_COLUMNS = [
    "occurred_at_utc",
    "actor",
    "action",
    "study",
    "study_id",
    "object_type",
    "object_id",
    "reason",
    "details",
    "request_id",
]


def participant_timeline_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = get_object_or_404(
        access.participants_where(request.user, access.AUDIT_TRAIL), pk=participant_id
    )
    context = {
        **admin.site.each_context(request),
        "title": f"Audit timeline of {participant.subject_id}",
        "participant": participant,
        "entries": participant_timeline(participant=participant, user=request.user),
    }
    return TemplateResponse(request, "admin/diary/pages/audit_timeline.html", context)


# The days a filter may name: the trail holds nothing outside them, and a bound at the edge of
# the calendar (9999-12-31) has no next day to end an inclusive range with.
AUDIT_FIRST_DAY = date(2000, 1, 1)
AUDIT_LAST_DAY = date(2999, 12, 31)


class AuditDateField(forms.DateField):
    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None and not AUDIT_FIRST_DAY <= value <= AUDIT_LAST_DAY:
            raise forms.ValidationError(
                f"Enter a date from {AUDIT_FIRST_DAY} to {AUDIT_LAST_DAY}.", code="out_of_range"
            )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    study_id = forms.CharField(required=False, label="Participant study ID")
    since = AuditDateField(required=False, help_text="YYYY-MM-DD (UTC)")
    until = AuditDateField(required=False, help_text="YYYY-MM-DD (UTC), inclusive")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A blinded user is not even offered the kinds of event that concern unblinding.
        hidden = set() if access.unblinded_study_ids(user) else UNBLINDED_ACTIONS
        self.fields["action"].choices = [
            ("", "Any action"),
            *((value, label) for value, label in AuditAction.choices if value not in hidden),
        ]


def audit_export_view(request: HttpRequest) -> HttpResponse:
    """GET shows the filter form; with `download` the filtered log streams as CSV (audited)."""
    if not access.staff_can(request.user, access.AUDIT_TRAIL):
        raise Http404
    form = AuditFilterForm(request.GET or None, user=request.user)
    if "download" not in request.GET or not form.is_valid():
        context = {
            **admin.site.each_context(request),
            "title": "Audit trail export",
            "form": form,
            # Only when and whether: what a failed check found names rows of any table
            # (allocation included), so it stays in the command's output and the log.
            "chain": audit_chain_status(),
        }
        # A filter that does not hold is refused as such (the form says why), not shown as 200.
        status = 400 if form.is_bound and not form.is_valid() else 200
        return TemplateResponse(
            request, "admin/diary/pages/audit_export.html", context, status=status
        )
    filters = {k: (str(v) if v else "") for k, v in form.cleaned_data.items()}
    events = audit_events_visible_to(
        request.user,
        action=form.cleaned_data["action"],
        subject_id=form.cleaned_data["study_id"],
        since=form.cleaned_data["since"],
        until=form.cleaned_data["until"],
    )
    return audit_csv_response(
        request, events, kind="audit_trail", filters=filters, filename="audit_trail.csv"
    )


def audit_csv_response(
    request: HttpRequest,
    events: QuerySet[AuditEvent],
    *,
    kind: str,
    filters: dict[str, str],
    filename: str,
) -> StreamingHttpResponse:
    """`events` streamed as CSV; the download is audited when the stream ends.

    The download's own event counts its rows: when unblinded events were among them, that
    count is unblinded content, and the event is classified so (diary.access)."""

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(AUDIT_COLUMNS)
        count = unblinded = 0
        for event in events.iterator(chunk_size=2000):
            writer.writerow(
                [
                    utc_iso(event.occurred_at),
                    formula_neutralise(event.actor_label),
                    event.action,
                    event.study.code if event.study else "",
                    formula_neutralise(event.participant.subject_id) if event.participant else "",
                    event.object_type,
                    event.object_id,
                    formula_neutralise(event.reason),
                    formula_neutralise(
                        json.dumps(event.details, sort_keys=True) if event.details else ""
                    ),
                    event.request_id,
                ]
            )
            count += 1
            unblinded += event.unblinded
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
        with transaction.atomic():
            audit_record(
                action=AuditAction.EXPORTED,
                actor=request.user,
                details={"kind": kind, "filters": filters, "rows": count, "blinded": not unblinded},
                unblinded=bool(unblinded),
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
