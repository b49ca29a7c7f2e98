"""The Django admin for staff: scoped to the user's studies and sites, clinical rows read-only.

Blinded staff never see allocation, sequences or treatments: those admins answer as if the
models did not exist for them.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from diary import access
from diary.models import (
    Allocation,
    Assessment,
    AuditEvent,
    MenstrualPeriod,
    Participant,
    Response,
    Sequence,
    SequenceBlock,
    Site,
    StaffMembership,
    Study,
    Treatment,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical data is append-only: nobody adds, changes or deletes it here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class StudyMemberAdmin(ReadOnlyAdmin):
    """Visible to staff with a membership in a study; rows limited to their sites.

    `participant_path` is the lookup from this model to Participant.
    """

    participant_path = "participant"

    def _visible(self, request: HttpRequest) -> bool:
        return request.user.is_staff and access.memberships_of(request.user).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._visible(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._visible(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        visible = access.participants_visible_to(request.user)
        if self.participant_path == "":
            return qs.filter(pk__in=visible.values("pk"))
        return qs.filter(**{f"{self.participant_path}__in": visible.values("pk")})


class UnblindedAdmin(ReadOnlyAdmin):
    """Only for unblinded staff; for everyone else the page does not exist (404)."""

    study_path = "study"

    def _visible(self, request: HttpRequest) -> bool:
        return request.user.is_staff and access.is_unblinded(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._visible(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._visible(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        studies = (
            access.memberships_of(request.user)
            .filter(role__in=access.UNBLINDED_ROLES)
            .values("study_id")
        )
        return super().get_queryset(request).filter(**{f"{self.study_path}__in": studies})


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "number_of_periods", "periods_per_block", "is_demo"]
    readonly_fields = ["created_at"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or access.memberships_of(request.user).exists()

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        return (
            qs
            if request.user.is_superuser
            else qs.filter(pk__in=access.studies_of(request.user).values("pk"))
        )


@admin.register(Site)
class SiteAdmin(StudyAdmin):
    list_display = ["code", "name", "study"]
    readonly_fields = []

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = admin.ModelAdmin.get_queryset(self, request)
        return (
            qs
            if request.user.is_superuser
            else qs.filter(study__in=access.studies_of(request.user))
        )


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "study", "site", "role"]
    list_filter = ["study", "role"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SequenceBlockInline(admin.TabularInline):
    model = SequenceBlock
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Treatment)
class TreatmentAdmin(UnblindedAdmin):
    list_display = ["code", "name", "study"]


@admin.register(Sequence)
class SequenceAdmin(UnblindedAdmin):
    list_display = ["code", "study"]
    inlines = [SequenceBlockInline]


@admin.register(Allocation)
class AllocationAdmin(UnblindedAdmin):
    list_display = ["participant", "sequence", "source", "allocated_at"]
    study_path = "participant__study"


@admin.register(Participant)
class ParticipantAdmin(StudyMemberAdmin):
    participant_path = ""
    list_display = ["subject_id", "site", "status", "enrolled_at", "activated_at"]
    list_filter = ["site", "status"]
    search_fields = ["subject_id"]
    exclude = ["user"]


@admin.register(MenstrualPeriod)
class MenstrualPeriodAdmin(StudyMemberAdmin):
    list_display = ["participant", "number", "started_on", "ended_on", "start_reported_at"]
    list_select_related = ["participant"]


@admin.register(Assessment)
class AssessmentAdmin(StudyMemberAdmin):
    list_display = ["participant", "period_number", "status", "opens_at", "closes_at"]
    list_filter = ["status", "period_number"]
    list_select_related = ["participant"]


@admin.register(Response)
class ResponseAdmin(StudyMemberAdmin):
    participant_path = "assessment__participant"
    list_display = ["assessment", "instrument_key", "instrument_version", "source", "submitted_at"]
    list_select_related = ["assessment__participant"]


@admin.register(AuditEvent)
class AuditEventAdmin(StudyMemberAdmin):
    list_display = ["occurred_at", "actor_label", "action", "participant", "object_type", "reason"]
    list_filter = ["action"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = admin.ModelAdmin.get_queryset(self, request)
        visible = access.participants_visible_to(request.user)
        studies = access.studies_of(request.user)
        # Study-level events (no participant) are visible to members of that study.
        return qs.filter(participant__in=visible) | qs.filter(
            participant__isnull=True, study__in=studies
        )


# Registered in its own module (reminders, issue 8); imported here so autodiscovery finds it.
from diary import admin_reminders  # noqa: E402, F401
