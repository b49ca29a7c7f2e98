"""Late entries in the admin: read-only rows, scoped to the user's sites, and two actions for
the coordinator of her site, each asking for a reason: accept as documented, or decline."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from diary import access
from diary.admin.base import ScopedAdmin
from diary.admin.participants import reasoned_action
from diary.models import LateEntry, LateEntryStatus
from diary.services.late_entries import late_entry_review


@admin.register(LateEntry)
class LateEntryAdmin(ScopedAdmin):
    participant_path = "assessment__participant"
    list_display = [
        "assessment",
        "status",
        "reason",
        "received_at",
        "device_at",
        "difference_seconds",
        "reviewed_at",
    ]
    list_filter = ["status", "reason"]
    list_select_related = ["assessment__participant"]
    search_fields = ["assessment__participant__subject_id"]
    fields = [
        "assessment",
        "status",
        "reason",
        "received_at",
        "device_at",
        "difference_seconds",
        "answers",
        "submitted_by",
        "reviewed_by",
        "reviewed_at",
        "review_reason",
    ]
    readonly_fields = fields
    actions = ["accept", "decline"]

    def has_review_permission(self, request: HttpRequest) -> bool:
        return access.staff_can(request.user, access.REVIEW_LATE_ENTRY)

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        description="Accept as documented, counted late (asks for a reason)",
        permissions=["review"],
    )
    def accept(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._review(request, queryset, accept=True)

    @admin.action(description="Decline (asks for a reason)", permissions=["review"])
    def decline(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._review(request, queryset, accept=False)

    def _review(self, request: HttpRequest, queryset: QuerySet, *, accept: bool):
        allowed = self.scoped(request, queryset, access.REVIEW_LATE_ENTRY)
        pending = allowed.filter(status=LateEntryStatus.PENDING)
        skipped = queryset.count() - pending.count()
        if skipped:
            self.message_user(
                request,
                f"{skipped} selected late entr(ies) are already reviewed or not at your "
                "sites; they were left as they are.",
                messages.WARNING,
            )
        if not pending.exists():
            return None
        return reasoned_action(
            request,
            self,
            pending.select_related("assessment__participant"),
            action="accept" if accept else "decline",
            title="Accept late entries" if accept else "Decline late entries",
            apply=lambda entry, reason: late_entry_review(
                entry_id=entry.pk, accept=accept, reason=reason, actor=request.user
            ),
            done=("Accepted (counted late)" if accept else "Declined") + ": {} late entr(ies).",
        )
