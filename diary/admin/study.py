"""Study configuration (system admin edits; members view) and the unblinded design tables."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from diary import access
from diary.admin.base import UnblindedAdmin
from diary.admin.forms import StudySettingsForm
from diary.models import (
    Allocation,
    Sequence,
    SequenceBlock,
    Site,
    StaffMembership,
    Study,
    Treatment,
)
from diary.services import staff
from diary.services.studies import study_settings_save


class ConfigurationAdmin(admin.ModelAdmin):
    """Configuration rows: the system admin (superuser) edits; study members view theirs."""

    study_path = "pk"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or access.staff_can(
            request.user, f"diary.view_{self.opts.model_name}"
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        studies = access.memberships_granting(
            request.user, f"diary.view_{self.opts.model_name}"
        ).values("study_id")
        return qs.filter(**{f"{self.study_path}__in": studies})


@admin.register(Study)
class StudyAdmin(ConfigurationAdmin):
    form = StudySettingsForm
    list_display = ["code", "name", "number_of_periods", "periods_per_block", "is_demo"]
    readonly_fields = ["created_at"]

    def save_model(self, request: HttpRequest, obj: Study, form: Any, change: bool) -> None:
        study_settings_save(study=obj, changed=list(form.changed_data), actor=request.user)


@admin.register(Site)
class SiteAdmin(ConfigurationAdmin):
    list_display = ["code", "name", "study"]
    study_path = "study"


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    """Users' study roles. Saving keeps the user's role groups in step (diary.access)."""

    list_display = ["user", "study", "site", "role"]
    # Named: the admin's automatic select_related() leaves out the nullable site.
    list_select_related = ["user", "study", "site"]
    list_filter = ["study", "role"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: StaffMembership, form: Any, change: bool):
        staff.staff_membership_save(membership=obj, actor=request.user)


class SequenceBlockInline(admin.TabularInline):
    model = SequenceBlock
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
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
    list_display = ["participant", "sequence", "source", "slot_number", "allocated_at"]
    list_select_related = ["participant", "sequence"]
    list_filter = ["source"]
    study_path = "participant__study"
