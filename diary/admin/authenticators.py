"""django-otp's device admin (system administrators), with every change through
diary.services.authenticators, so that adding or removing an authenticator is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary import access
from diary.services.authenticators import authenticator_remove, authenticator_save


class AuditedTOTPDeviceAdmin(TOTPDeviceAdmin):
    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        def clean_user(self):
            # Nobody enrols an authenticator for a holder of a guarded right but herself: with
            # her password it would be a takeover of her unblinded login.
            user = self.cleaned_data.get("user")
            if (
                user is not None
                and user.pk != request.user.pk
                and access.speaks_only_for_herself(user)
            ):
                raise ValidationError(
                    "She holds unblinded access: only she can enrol her authenticator."
                )
            return user

        if "user" in form.base_fields:
            form.clean_user = clean_user
        return form

    def save_model(self, request: HttpRequest, obj: TOTPDevice, form: Any, change: bool) -> None:
        authenticator_save(device=obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: TOTPDevice) -> None:
        authenticator_remove(device=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        # The bulk "delete selected" action: one event per device, as for a single delete.
        for device in queryset.select_related("user"):
            authenticator_remove(device=device, actor=request.user)


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, AuditedTOTPDeviceAdmin)
