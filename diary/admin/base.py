"""Base admins: read-only clinical data, scoped by permission AND study/site membership."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.db.models.options import Options
from django.http import HttpRequest
from django.template.response import TemplateResponse

from diary import access


def view_perm(model_admin: admin.ModelAdmin) -> str:
    return f"{model_admin.opts.app_label}.view_{model_admin.opts.model_name}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical data is append-only: nobody adds, changes or deletes it here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ScopedAdmin(ReadOnlyAdmin):
    """Rows of the participants at the sites where the user holds the model's view
    permission. `participant_path` is the lookup from this model to Participant ("" for
    Participant itself)."""

    participant_path = "participant"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return access.staff_can(request.user, view_perm(self))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Objects outside the scope never reach here: get_object() uses get_queryset().
        return access.staff_can(request.user, view_perm(self))

    def scoped(self, request: HttpRequest, qs: QuerySet, perm: str | None = None) -> QuerySet:
        visible = access.participants_where(request.user, perm or view_perm(self))
        if self.participant_path == "":
            return qs.filter(pk__in=visible.values("pk"))
        return qs.filter(**{f"{self.participant_path}__in": visible.values("pk")})

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scoped(request, super().get_queryset(request))


class UnblindedAdmin(ReadOnlyAdmin):
    """Only for users unblinded in a study; for everyone else the pages do not exist (404
    through the admin's unregistered-model handling, no menu entry)."""

    study_path = "study"

    def _visible(self, request: HttpRequest) -> bool:
        return bool(access.unblinded_study_ids(request.user)) and request.user.has_perm(
            view_perm(self)
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._visible(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._visible(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        studies = access.unblinded_study_ids(request.user)
        return super().get_queryset(request).filter(**{f"{self.study_path}__in": studies})


def admin_page(
    request: HttpRequest,
    opts: Options,
    template: str,
    title: str,
    context: dict[str, Any],
) -> TemplateResponse:
    """A custom admin page with the admin's chrome (breadcrumbs, sidebar, user tools)."""
    return TemplateResponse(
        request,
        template,
        {
            **admin.site.each_context(request),
            "opts": opts,
            "title": title,
            **context,
        },
    )
