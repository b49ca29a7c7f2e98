"""pghistory's row-history admin, restricted: the history of every tracked table includes
the allocation and sequence tables, so only unblinded staff may open it (not even a
superuser without an unblinded role). Configured by PGHISTORY_ADMIN_CLASS in settings."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from pghistory.admin import EventsAdmin

from diary import roles


class UnblindedEventsAdmin(EventsAdmin):
    def _visible(self, request: HttpRequest) -> bool:
        return bool(roles.unblinded_study_ids(request.user))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._visible(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._visible(request)
