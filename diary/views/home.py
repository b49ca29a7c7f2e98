"""The participant's home page: what to do now, her periods and her questionnaires."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from diary.access import participant_required
from diary.selectors.home import diary_overview
from diary.views.offline import offline_cacheable


@login_required
@require_GET
@offline_cacheable
def home(request: HttpRequest) -> HttpResponse:
    participant = participant_required(request)
    return render(
        request,
        "diary/home.html",
        {
            "participant": participant,
            **diary_overview(participant=participant, now=timezone.now()),
        },
    )
