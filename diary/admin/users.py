"""Django's user and group admins, for staff accounts only, with nobody changing her own rights.

- Contacts stay apart: participant accounts are not in the user admin at all (list, search,
  change, history, delete, password, autocomplete of any user field): her login is managed by
  her invitation and reset links, and her e-mail is shown only on her participant page, to the
  roles allowed to read it (diary.admin.participants).
- Nobody unblinds herself: on her own account a user's groups, permissions and status flags are
  read-only; no user or group is given a guarded permission here (diary.access.
  GUARDED_PERMISSIONS: held through a role, or a two-person grant, diary.services.grants); the
  role groups hold the access policy's permissions and are read-only; a group is not edited by
  its own members.
- Nobody speaks for a participant: the password form refuses participant accounts, and every
  change the form makes is audited.
- Nobody takes over a holder of a guarded right (diary.access.speaks_only_for_herself): her
  password page does not exist for anyone else and her e-mail is read-only to others, so no
  administrator can log in as the unblinded statistician (the device admin refuses to enrol an
  authenticator for her too, diary.admin.authenticators).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest

from diary import access
from diary.models import Participant
from diary.passwords import password_change_record

User = get_user_model()

# What a user may not change on her own account: her rights and whether she may log in.
OWN_RIGHTS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")


def staff_accounts(qs: QuerySet) -> QuerySet:
    """Users that are not a participant's login."""
    return qs.exclude(Exists(Participant.objects.filter(user=OuterRef("pk"))))


def grantable_permissions(qs: QuerySet[Permission]) -> QuerySet[Permission]:
    """Permissions the user and group admins may tick: none of the guarded ones."""
    guarded = Q()
    for perm in access.GUARDED_PERMISSIONS:
        app_label, codename = perm.split(".")
        guarded |= Q(content_type__app_label=app_label, codename=codename)
    return qs.exclude(guarded)


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """A new password is audited when it is saved (diary.passwords); switching password login
    off saves none, so it is recorded here."""

    def save(self, commit: bool = True):
        user = super().save(commit)
        if commit and not self.cleaned_data["set_usable_password"]:
            password_change_record(user=user, disabled=True)
        return user


class StaffAccountsUserAdmin(UserAdmin):
    change_password_form = AuditedPasswordChangeForm

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Every view and the autocomplete read this: a participant's account does not exist
        # here (change and history answer "does not exist", the password page 404).
        return staff_accounts(super().get_queryset(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk:
            fields += [f for f in OWN_RIGHTS if f not in fields]
        elif obj is not None and access.speaks_only_for_herself(obj):
            fields += [f for f in ("email",) if f not in fields]
        return fields

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""):
        user = self.get_object(request, unquote(id))
        if user is not None and user.pk != request.user.pk and access.speaks_only_for_herself(user):
            raise Http404("No such page.")
        return super().user_change_password(request, id, form_url)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # The form offers only what may be ticked here; what it does not offer (her role
        # groups, a two-person grant) is hers to keep, not removed by saving the page.
        kept_groups, kept_permissions = [], []
        if change and "groups" in form.fields:
            offered = form.fields["groups"].queryset
            kept_groups = list(form.instance.groups.exclude(pk__in=offered.values("pk")))
        if change and "user_permissions" in form.fields:
            offered = form.fields["user_permissions"].queryset
            kept_permissions = list(
                form.instance.user_permissions.exclude(pk__in=offered.values("pk"))
            )
        super().save_related(request, form, formsets, change)
        form.instance.groups.add(*kept_groups)
        form.instance.user_permissions.add(*kept_permissions)

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "user_permissions":
            kwargs["queryset"] = grantable_permissions(
                Permission.objects.select_related("content_type")
            )
        elif db_field.name == "groups":
            # Role groups follow memberships (diary.services.staff); a group holding a
            # guarded permission would hand it on without a second person.
            kwargs["queryset"] = Group.objects.exclude(
                name__in=access.ROLE_GROUPS.values()
            ).exclude(permissions__in=guarded_permission_ids())
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def guarded_permission_ids() -> QuerySet:
    every = Permission.objects.all()
    return every.exclude(pk__in=grantable_permissions(every).values("pk")).values("pk")


def own_group_ids(request: HttpRequest) -> set[int]:
    """The groups of the request's user, read once per request (the admin asks many times)."""
    cached = getattr(request, "_own_group_ids", None)
    if cached is None:
        cached = set(request.user.groups.values_list("pk", flat=True))
        request._own_group_ids = cached  # type: ignore[attr-defined]
    return cached


class StaffGroupAdmin(GroupAdmin):
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and (
            obj.name in access.ROLE_GROUPS.values() or obj.pk in own_group_ids(request)
        ):
            return False  # read-only: the policy's role groups, and her own groups
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.name in access.ROLE_GROUPS.values():
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "permissions":
            kwargs["queryset"] = grantable_permissions(
                Permission.objects.select_related("content_type")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


admin.site.unregister(User)
admin.site.register(User, StaffAccountsUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, StaffGroupAdmin)
