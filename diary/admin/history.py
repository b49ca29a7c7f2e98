"""pghistory's row-history admin, restricted: the history of every tracked table includes
the allocation and sequence tables, so only unblinded staff may open it (not even a
superuser without an unblinded role). Configured by PGHISTORY_ADMIN_CLASS in settings."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import ShowFacets
from django.http import HttpRequest
from pghistory.admin import EventsAdmin

from diary import access


class UnblindedEventsAdmin(EventsAdmin):
    # pghistory's change list cannot count facets (Django passes get_queryset an argument it
    # does not take): `?_facets` was a 500 (tests/test_bad_input_admin.py).
    show_facets = ShowFacets.NEVER

    def _visible(self, request: HttpRequest) -> bool:
        # One list of every study's rows, which cannot be scoped to a study: a statistician
        # unblinded in one study would read another study's treatments and allocation here.
        # So only users unblinded in every study may open it.
        return access.unblinded_everywhere(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._visible(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._visible(request)
