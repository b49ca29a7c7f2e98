"""django-otp's device admin (system administrators), with every change through
diary.services.authenticators, so that adding or removing an authenticator is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary.services.authenticators import authenticator_remove, authenticator_save


class AuditedTOTPDeviceAdmin(TOTPDeviceAdmin):
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
