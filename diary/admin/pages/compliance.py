"""The blinded compliance dashboard: per site and participant, and what is about to close.

Constant number of queries whatever the number of participants; the participant table is
paginated.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from diary import access
from diary.admin.base import admin_page
from diary.models import Participant, ParticipantStatus, Site, Study
from diary.selectors.compliance import (
    OVERDUE_HOURS,
    assessments_overdue,
    compliance_by_participant,
    compliance_by_site,
)

PAGE_SIZE = 100
PERM = access.VIEW_PARTICIPANT  # the index offers the page on the same question
# Orderings offered: who needs attention first. Never by anything derived from allocation.
ORDERINGS = {
    "id": ("Study ID", ["site__code", "subject_id"]),
    "compliance": (
        "Lowest compliance first",
        [F("compliance").asc(nulls_last=True), "site__code", "subject_id"],
    ),
    "activity": (
        "Longest without activity first",
        [F("last_activity").asc(nulls_first=True), "site__code", "subject_id"],
    ),
}


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def compliance_view(request: HttpRequest) -> HttpResponse:
    if not access.staff_can(request.user, PERM):
        raise Http404
    now = timezone.now()
    scope = access.participants_where(request.user, PERM)
    studies = list(Study.objects.filter(pk__in=scope.values("study_id")).order_by("code"))
    study = next(
        (s for s in studies if s.pk == _int_or_none(request.GET.get("study"))),
        studies[0] if studies else None,
    )
    participants = scope.filter(study=study)
    sites = list(Site.objects.filter(pk__in=participants.values("site_id")).order_by("code"))

    # Filters: only values inside the user's scope are honoured.
    site = next((s for s in sites if s.pk == _int_or_none(request.GET.get("site"))), None)
    status = request.GET.get("status")
    status = status if status in ParticipantStatus.values else None
    period = _int_or_none(request.GET.get("period"))
    period = period if study and period and 1 <= period <= study.number_of_periods else None
    if site:
        participants = participants.filter(site=site)
    if status:
        participants = participants.filter(status=status)

    order = request.GET.get("order")
    order = order if order in ORDERINGS else "id"
    rows = compliance_by_participant(participants=participants, now=now, period=period).order_by(
        *ORDERINGS[order][1]
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return admin_page(
        request,
        Participant._meta,
        "admin/diary/pages/compliance.html",
        "Compliance",
        {
            "study": study,
            "studies": studies,
            "sites": sites,
            "statuses": ParticipantStatus.choices,
            "periods": range(1, study.number_of_periods + 1) if study else [],
            "selected": {"site": site, "status": status, "period": period, "order": order},
            "orderings": [(key, label) for key, (label, _) in ORDERINGS.items()],
            "by_site": compliance_by_site(participants=participants, now=now, period=period),
            "page": page,
            "overdue": list(assessments_overdue(participants=participants, now=now)),
            "overdue_hours": OVERDUE_HOURS,
            "now": now,
        },
    )
