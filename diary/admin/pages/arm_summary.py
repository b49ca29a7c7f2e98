"""The unblinded per-arm summary page: only unblinded staff, every view audited."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.functional import SimpleLazyObject

from diary import access
from diary.models import AuditAction, Study
from diary.services.audit import audit_record
from scoring.summaries import arm_summary, arm_summary_key


def unblinded_studies(user):
    return Study.objects.filter(pk__in=access.unblinded_study_ids(user))


def arm_summary_view(request: HttpRequest, study_code: str | None = None) -> HttpResponse:
    studies = unblinded_studies(request.user)
    if not studies.exists():
        raise Http404
    if study_code is None and studies.count() == 1:
        study_code = studies.get().code
    if study_code is None:
        context = {
            **admin.site.each_context(request),
            "title": "Per-arm summary",
            "studies": studies,
        }
        return TemplateResponse(request, "admin/diary/pages/arm_summary_choose.html", context)
    study = get_object_or_404(studies, code=study_code)
    key = arm_summary_key(study=study)
    # Read only if the page's body is not cached under the same key (the template's cache
    # tag): unpickling a summary of 2,000 participants' exact scores took half of the warm
    # page's time (bench/bench_admin.py).
    summary = SimpleLazyObject(lambda: arm_summary(study=study, key=key))
    with transaction.atomic():
        audit_record(action=AuditAction.SUMMARY_VIEWED, actor=request.user, study=study)
    context = {
        **admin.site.each_context(request),
        "title": f"Per-arm summary: {study.code}",
        "study": study,
        "summary": summary,
        "summary_key": key,
    }
    response = TemplateResponse(request, "admin/diary/pages/arm_summary.html", context)
    response["Cache-Control"] = "no-store"
    return response
