"""The production URLs plus the baseline the benchmark compares against. Bench-only."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from config.urls import urlpatterns as production_urlpatterns
from diary.models import AuditAction, AuditEvent


@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    """The least a Django view that stores something can do: one INSERT, same middleware."""
    AuditEvent.objects.create(
        action=AuditAction.DRAFT_SAVED, details={"bench": True}, unblinded=False
    )
    return HttpResponse(status=204)


urlpatterns = [*production_urlpatterns, path("bench/bare/", bare_insert)]
