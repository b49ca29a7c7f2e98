"""The admin's import page: a coordinator checks a file, reads the report or the preview, and
imports exactly the file she checked. The same service as `manage.py import_study_data`."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from diary import access
from diary.models import Study
from diary.services.imports import study_data_import

MAX_BYTES = 50 * 1024 * 1024  # a study's worth of periods and answers, with room to spare


class ImportForm(forms.Form):
    study = forms.ModelChoiceField(queryset=Study.objects.none())
    file = forms.FileField(
        help_text="CDISC ODM 1.3.2 clinical data (.xml) or the project's wide CSV (.csv)."
    )
    checked_sha256 = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        studies = Study.objects.filter(pk__in=access.study_ids_where(user, access.CORRECT))
        self.fields["study"].queryset = studies
        if studies.count() == 1:
            self.fields["study"].initial = studies.first()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // 2**20} MB.")
        return upload


def import_view(request: HttpRequest) -> HttpResponse:
    if not access.staff_can(request.user, access.CORRECT):
        raise Http404
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        content = data["file"].read()
        confirm = request.POST.get("action") == "import"
        if confirm and hashlib.sha256(content).hexdigest() != data["checked_sha256"]:
            form.add_error("file", "This is not the file you checked: check it first.")
        else:
            try:
                report = study_data_import(
                    study=data["study"],
                    actor=request.user,
                    file_name=data["file"].name,
                    content=content,
                    confirm=confirm,
                )
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
    if report is not None and report.ok and report.batch is None and report.already is None:
        # Checked and valid: the import button sends the same file, known by its hash.
        form = ImportForm(
            initial={"study": form.cleaned_data["study"], "checked_sha256": report.file_sha256},
            user=request.user,
        )
    context = {
        **admin.site.each_context(request),
        "title": "Import study data",
        "form": form,
        "report": report,
    }
    return TemplateResponse(request, "admin/diary/pages/imports.html", context)
