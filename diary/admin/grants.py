"""Access grants: two-person grants of an unblinded role or of emergency unblinding.

A system administrator (or a holder) proposes one for another person with a reason; a second
person who already holds the right in that study approves it (an action on the list), and only
then is it given. Every step goes through diary.services.grants (audited, e-mailed to the
study's unblinded staff). Requests are read-only once made; nobody deletes them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from diary import access
from diary.admin.users import staff_accounts
from diary.models import AccessGrant, StaffRole
from diary.services import grants


class GrantProposalForm(forms.ModelForm):
    actor: Any = None  # set by the admin for the request

    class Meta:
        model = AccessGrant
        fields = ["study", "site", "grantee", "right", "role", "reason"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "grantee" in self.fields:  # the add form; a request's own page is read-only
            self.fields["grantee"].queryset = staff_accounts(
                self.fields["grantee"].queryset.filter(is_staff=True, is_active=True)
            ).exclude(pk=getattr(self.actor, "pk", None))
        if "study" in self.fields and not getattr(self.actor, "is_superuser", False):
            # A holder proposes within the studies where she holds a right; sites likewise.
            studies = access.grant_study_ids(self.actor)
            self.fields["study"].queryset = self.fields["study"].queryset.filter(pk__in=studies)
            self.fields["site"].queryset = self.fields["site"].queryset.filter(study__in=studies)
        if "role" in self.fields:
            self.fields["role"].choices = [("", "---------")] + [
                (role.value, role.label) for role in StaffRole if role in access.UNBLINDED_ROLES
            ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            reason, role = grants.grant_proposal_check(
                study=cleaned["study"],
                site=cleaned.get("site"),
                grantee=cleaned["grantee"],
                right=cleaned["right"],
                role=cleaned.get("role") or "",
                reason=cleaned.get("reason") or "",
                actor=self.actor,
            )
        except PermissionDenied as refused:
            raise ValidationError(str(refused)) from refused
        except ValidationError as error:
            fields = getattr(error, "error_dict", {})
            if fields and all(name in self.fields for name in fields):
                raise
            raise ValidationError(error.messages) from error
        cleaned["reason"], cleaned["role"] = reason, role
        return cleaned


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "study",
        "grantee",
        "right",
        "role",
        "site",
        "status",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
    ]
    list_select_related = ["study", "site", "grantee", "proposed_by", "decided_by"]
    list_filter = ["status", "right"]
    actions = ["approve", "reject"]
    form = GrantProposalForm

    def has_module_permission(self, request: HttpRequest) -> bool:
        return access.may_see_grants(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return access.may_see_grants(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return access.may_see_grants(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a request is decided by the actions, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return access.may_see_grants(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return access.grants_visible_to(request.user).select_related(*self.list_select_related)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request: HttpRequest, obj: AccessGrant, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = grants.grant_propose(
            study=data["study"],
            site=data.get("site"),
            grantee=data["grantee"],
            right=data["right"],
            role=data["role"],
            reason=data["reason"],
            actor=request.user,
        )
        obj.pk = saved.pk

    def _decide(self, request: HttpRequest, queryset: QuerySet, decide, done: str) -> None:
        for grant in queryset:
            try:
                decide(grant=grant, actor=request.user)
            except (ValidationError, PermissionDenied) as refused:
                text = " ".join(getattr(refused, "messages", [str(refused)]))
                messages.error(request, f"Request {grant.pk}: {text}")
            else:
                messages.success(request, f"Request {grant.pk}: {done}.")

    @admin.action(
        description="Approve and grant (you must already hold it)", permissions=["decide"]
    )
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, grants.grant_approve, "approved and granted")

    @admin.action(description="Reject", permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, grants.grant_reject, "rejected")
