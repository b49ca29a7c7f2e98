"""The data-quality signals of a study: definitions with the study's thresholds, a summary per
site and every participant's signals, flagged ones first, with their latest review.

A fixed number of queries whatever the number of participants (bench/bench_admin.py): the
signals and the site summary are one SQL query (diary.selectors.signals), the reviews of the
participants shown one more.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from diary import access
from diary.admin.base import admin_page
from diary.models import SignalReview, Site, Study
from diary.selectors.signals import (
    SIGNALS,
    signal_definitions,
    signal_reviews_attach,
    signal_settings_of,
    signals_compute,
)

PAGE_SIZE = 100
PERM = access.SIGNALS


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def signals_view(request: HttpRequest) -> HttpResponse:
    if not access.staff_can(request.user, PERM):
        raise Http404
    scope = access.participants_where(request.user, PERM)
    studies = list(Study.objects.filter(pk__in=scope.values("study_id")).order_by("code"))
    study = next(
        (s for s in studies if s.pk == int_or_none(request.GET.get("study"))),
        studies[0] if studies else None,
    )
    participants = scope.filter(study=study)
    sites = list(Site.objects.filter(pk__in=participants.values("site_id")).order_by("code"))
    site = next((s for s in sites if s.pk == int_or_none(request.GET.get("site"))), None)
    if site is not None:
        participants = participants.filter(site=site)
    flagged_only = request.GET.get("flagged") == "1"
    context: dict = {"study": study, "studies": studies, "sites": sites, "site": site}
    if study is not None:
        thresholds = signal_settings_of(study)
        table = signals_compute(
            participants=participants, thresholds=thresholds, now=timezone.now()
        )
        rows = table.participants
        if flagged_only:
            rows = [row for row in rows if row.flag_count]
        # Who needs a look first: most signals flagged, then site and study ID.
        rows.sort(key=lambda row: -row.flag_count)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        signal_reviews_attach(list(page))
        context |= {
            "definitions": signal_definitions(thresholds),
            "by_site": table.sites,
            "page": page,
            "flagged_only": flagged_only,
            "may_set_thresholds": access.staff_can(
                request.user, access.SIGNAL_SETTINGS, study_id=study.pk
            ),
            "signals": SIGNALS,
        }
    return admin_page(
        request,
        SignalReview._meta,
        "admin/diary/pages/signals.html",
        "Data-quality signals",
        context,
    )
