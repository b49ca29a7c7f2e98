"""Periods, assessments, responses and the audit trail: read-only, scoped to the user's sites."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from diary import access
from diary.admin.base import ScopedAdmin, view_perm
from diary.admin.participants import reasoned_action
from diary.models import (
    UNBLINDED_ACTIONS,
    Assessment,
    AssessmentStatus,
    AuditAction,
    AuditEvent,
    MenstrualPeriod,
    Response,
)
from diary.selectors.responses import response_read
from diary.services.site_actions import assessment_excuse


@admin.register(MenstrualPeriod)
class MenstrualPeriodAdmin(ScopedAdmin):
    list_display = ["participant", "number", "started_on", "ended_on", "start_reported_at"]
    list_filter = ["number"]
    list_select_related = ["participant"]
    search_fields = ["participant__subject_id"]


@admin.register(Assessment)
class AssessmentAdmin(ScopedAdmin):
    list_display = [
        "participant",
        "period_number",
        "status",
        "opens_at",
        "closes_at",
        "submitted_at",
    ]
    list_filter = ["status", "period_number"]
    list_select_related = ["participant"]
    search_fields = ["participant__subject_id"]
    actions = ["excuse"]

    def has_excuse_permission(self, request: HttpRequest) -> bool:
        return access.staff_can(request.user, "diary.excuse_assessment")

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        description="Excuse missed assessments (asks for a reason)", permissions=["excuse"]
    )
    def excuse(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        allowed = self.scoped(request, queryset, "diary.excuse_assessment")
        missed = allowed.filter(status=AssessmentStatus.MISSED)
        skipped = queryset.count() - missed.count()
        if skipped:
            self.message_user(
                request,
                f"{skipped} selected assessment(s) are not missed or not at your sites; only "
                "missed assessments can be excused.",
                messages.WARNING,
            )
        if not missed.exists():
            return None
        return reasoned_action(
            request,
            self,
            missed.select_related("participant"),
            action="excuse",
            title="Excuse missed assessments",
            apply=lambda assessment, reason: assessment_excuse(
                assessment=assessment, reason=reason, actor=request.user
            ),
            done="Excused: {} assessment(s).",
        )


@admin.register(Response)
class ResponseAdmin(ScopedAdmin):
    participant_path = "assessment__participant"
    list_display = ["assessment", "instrument_key", "instrument_version", "source", "submitted_at"]
    list_filter = ["instrument_key", "source"]
    list_select_related = ["assessment__participant"]
    search_fields = ["assessment__participant__subject_id"]
    fields = [
        "assessment",
        "instrument_key",
        "instrument_version",
        "instrument_hash",
        "answers_read",
        "metadata",
        "submitted_at",
        "submitted_by",
        "source",
        "reason",
        "supersedes",
    ]
    readonly_fields = fields

    @admin.display(description="Answers")
    def answers_read(self, obj: Response) -> str:
        """Each question's label and the answer's label, in the wording she answered."""
        return render_to_string(
            "admin/diary/participant/_answers.html", {"read": response_read(response=obj)}
        )


class ActionFilter(admin.SimpleListFilter):
    """The audit actions the user may see (a blinded user is not offered unblinded ones)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        hidden = [] if access.unblinded_study_ids(request.user) else UNBLINDED_ACTIONS
        return [(value, label) for value, label in AuditAction.choices if value not in hidden]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdmin):
    list_display = ["occurred_at", "actor_label", "action", "participant", "object_type", "reason"]
    list_filter = [ActionFilter]
    list_select_related = ["participant"]
    search_fields = ["participant__subject_id", "actor_label"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The trail's own scope (study-level events, unblinding events) is the access
        # policy's, shared with the audit CSV; here asked with this model's view permission.
        return admin.ModelAdmin.get_queryset(self, request) & access.audit_events_where(
            request.user, view_perm(self)
        )
