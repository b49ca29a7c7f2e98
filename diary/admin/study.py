"""Study configuration (system admin edits; members view) and the unblinded design tables."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from diary import access
from diary.admin.base import UnblindedAdmin
from diary.admin.forms import StudySettingsForm
from diary.admin.users import staff_accounts
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


class StaffMembershipForm(forms.ModelForm):
    """Asks the service's own question (diary.services.staff.staff_membership_check) while
    the form can still show the answer: her own membership, a change of user, an unblinded
    role given by one person."""

    actor: Any = None  # set by the admin for the request

    class Meta:
        model = StaffMembership
        fields = ["user", "study", "site", "role"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = staff_accounts(self.fields["user"].queryset)

    def _post_clean(self) -> None:
        super()._post_clean()  # the instance now holds the form's values
        if self.errors:
            return
        try:
            staff.staff_membership_check(membership=self.instance, actor=self.actor)
        except ValidationError as error:
            fields = getattr(error, "error_dict", {})
            if fields and all(name in self.fields for name in fields):
                self.add_error(None, error)
            else:
                self.add_error(None, error.messages)


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    """Users' study roles. Saving keeps the user's role groups in step (diary.access); nobody
    changes her own, and an unblinded role comes only from a two-person grant
    (diary.admin.grants)."""

    form = StaffMembershipForm
    list_display = ["user", "study", "site", "role"]
    # Named: the admin's automatic select_related() leaves out the nullable site.
    list_select_related = ["user", "study", "site"]
    list_filter = ["study", "role"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Her own memberships she reads only.
        own = obj is not None and obj.user_id == request.user.pk
        return request.user.is_superuser and not own

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return ["user"] if obj is not None else []  # a membership stays with its user

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

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
