"""Stored instrument versions in the admin: read-only, for system administrators only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from scoring.models import InstrumentVersion


@admin.register(InstrumentVersion)
class InstrumentVersionAdmin(admin.ModelAdmin):
    """Loaded with `manage.py load_instrument_text` and frozen: nobody adds, changes or deletes
    one here. Configuration, not clinical data, so only superusers see it."""

    list_display = ("key", "version", "language", "structure_version", "loaded_at", "loaded_by")
    # Named: the admin's automatic select_related() leaves out the nullable loaded_by.
    list_select_related = ("loaded_by",)
    list_filter = ("key", "language")
    readonly_fields = [field.name for field in InstrumentVersion._meta.fields]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
