"""What reminders were sent, are pending or failed: read-only, scoped to the user's sites.

Shows no e-mail address and nothing clinical: kind, period number, timing and outcome.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from diary import access
from diary.admin.base import ScopedAdmin
from diary.models import ReminderLog

REMINDER_FIELDS = [
    "kind",
    "period_number",
    "status",
    "due_at",
    "sent_at",
    "attempts",
    "channel",
    "next_attempt_at",
    "last_error",
    "delivery_problem",
    "cancel_reason",
]


@admin.register(ReminderLog)
class ReminderLogAdmin(ScopedAdmin):
    list_display = ["participant", *REMINDER_FIELDS]
    list_filter = ["kind", "status", "channel"]
    list_select_related = ["participant"]
    search_fields = ["participant__subject_id"]
    fields = ["participant", *REMINDER_FIELDS, "created_at"]
    readonly_fields = fields


class ReminderLogInline(admin.TabularInline):
    """The participant page's list of her reminders: sent, failed, pending and cancelled."""

    model = ReminderLog
    fk_name = "participant"
    fields = REMINDER_FIELDS
    readonly_fields = REMINDER_FIELDS
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "reminders"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # The participant page itself is scoped to the user's sites.
        return access.staff_can(request.user, "diary.view_reminderlog")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Each row is titled by ReminderLog.__str__, which names the participant.
        return super().get_queryset(request).select_related("participant")
