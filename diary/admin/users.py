"""Django's user admin, with the rule that staff never set a participant's password.

Her access is reset only with a new invitation or reset link (the participant admin's
action), so nobody can log in as her and answer in her name. The password form refuses
participant accounts outright: not only a new password (which diary.passwords refuses too)
but also switching her password login off. Every change the form does make is audited.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from diary.auth import is_linked_to_participant
from diary.passwords import password_change_record

User = get_user_model()


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """A new password is audited when it is saved (diary.passwords); switching password login
    off saves none, so it is recorded here."""

    def save(self, commit: bool = True):
        user = super().save(commit)
        if commit and not self.cleaned_data["set_usable_password"]:
            password_change_record(user=user, disabled=True)
        return user


class StaffOnlyPasswordsUserAdmin(UserAdmin):
    change_password_form = AuditedPasswordChangeForm

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        if is_linked_to_participant(self.get_object(request, unquote(id))):
            raise PermissionDenied(
                "A participant's password is set only by her, with her invitation or reset link."
            )
        return super().user_change_password(request, id, form_url)


admin.site.unregister(User)
admin.site.register(User, StaffOnlyPasswordsUserAdmin)
