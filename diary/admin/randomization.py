"""The concealed allocation list: upload, generation and the slots. Unblinded users only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from diary import access
from diary.admin.base import UnblindedAdmin, admin_page
from diary.admin.forms import GenerateForm, UploadForm
from diary.models import (
    Allocation,
    AllocationList,
    AllocationSlot,
    Participant,
    ParticipantStatus,
    Study,
)
from diary.rules.allocation_lists import ListInvalid
from diary.services.randomization import allocation_list_generate, allocation_list_upload

ADD_PERM = "diary.add_allocationlist"


class AllocationSlotInline(admin.TabularInline):
    model = AllocationSlot
    extra = 0
    can_delete = False
    fields = ["stratum", "slot_number", "sequence", "participant", "used_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("sequence", "participant")


@admin.register(AllocationList)
class AllocationListAdmin(UnblindedAdmin):
    list_display = [
        "study",
        "method",
        "stratified_by_site",
        "slots",
        "used",
        "waiting",
        "created_by",
        "created_at",
    ]
    readonly_fields = [
        "study",
        "method",
        "stratified_by_site",
        "strata",
        "seed",
        "block_sizes",
        "source_sha256",
        "created_by",
        "created_at",
    ]
    inlines = [AllocationSlotInline]
    change_list_template = "admin/diary/allocationlist/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        waiting = (
            Participant.objects.filter(study=OuterRef("study"), status=ParticipantStatus.ACTIVE)
            .filter(~Exists(Allocation.objects.filter(participant=OuterRef("pk"))))
            .order_by()
            .values("study")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("study", "created_by")
            .annotate(
                n_slots=Count("slots"),
                n_used=Count("slots", filter=Q(slots__participant__isnull=False)),
                n_waiting=waiting,
            )
        )

    @admin.display(description="Slots", ordering="n_slots")
    def slots(self, obj: AllocationList) -> int:
        return obj.n_slots

    @admin.display(description="Used", ordering="n_used")
    def used(self, obj: AllocationList) -> int:
        return obj.n_used

    @admin.display(description="Active, not randomized")
    def waiting(self, obj: AllocationList) -> int:
        return obj.n_waiting or 0

    def _studies(self, request: HttpRequest) -> QuerySet[Study]:
        """Studies where the user may store a list: unblinded there, with the permission, and
        no list yet."""
        ids = set(access.unblinded_study_ids(request.user)) & set(
            access.memberships_granting(request.user, ADD_PERM).values_list("study_id", flat=True)
        )
        return Study.objects.filter(pk__in=ids, allocation_list__isnull=True).order_by("code")

    def _may_store(self, request: HttpRequest) -> bool:
        return self._visible(request) and access.staff_can(request.user, ADD_PERM)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        can_store = self._may_store(request)
        return super().changelist_view(request, {**(extra_context or {}), "can_store": can_store})

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="diary_allocationlist_upload"),
            path("generate/", view(self.generate_view), name="diary_allocationlist_generate"),
            *super().get_urls(),
        ]

    def _form_page(self, request: HttpRequest, form_class: type, store, title: str):
        if not self._may_store(request):
            raise Http404
        studies = self._studies(request)
        form = form_class(request.POST or None, request.FILES or None, studies=studies)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                allocation_list = store(form.cleaned_data)
            except ListInvalid as exc:
                errors = exc.errors
            except ValidationError as exc:
                errors = exc.messages
            else:
                self.message_user(request, f"Stored the {allocation_list}.", messages.SUCCESS)
                return redirect("admin:diary_allocationlist_change", allocation_list.pk)
        return admin_page(
            request,
            self.opts,
            "admin/diary/allocationlist/form.html",
            title,
            {"form": form, "errors": errors, "no_study": not studies.exists()},
        )

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        def store(data: dict) -> AllocationList:
            return allocation_list_upload(
                study=data["study"], content=data["file"].read(), actor=request.user
            )

        return self._form_page(request, UploadForm, store, "Upload an allocation list")

    def generate_view(self, request: HttpRequest) -> HttpResponse:
        def store(data: dict) -> AllocationList:
            return allocation_list_generate(
                study=data["study"],
                block_sizes=data["block_sizes"],
                slots_per_stratum=data["slots_per_stratum"],
                stratify_by_site=data["stratify_by_site"],
                seed=data["seed"],
                actor=request.user,
            )

        return self._form_page(
            request, GenerateForm, store, "Generate an allocation list (permuted blocks)"
        )
