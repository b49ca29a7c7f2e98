"""The admin's export page: the same code path as `manage.py export`."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse

from diary import access
from diary.models import AssessmentStatus, Study
from diary.services.exports import ExportRequest, export_start

KIND_CHOICES = [
    ("wide", "Wide: one row per participant and period"),
    ("long", "Long: one row per item answer"),
    ("dictionary", "Data dictionary"),
    ("sdtm", "CDISC SDTM datasets (DM, TA, TE, SE, SV, QS, FA): one file each"),
    ("define", "define.xml 2.1 of the SDTM datasets"),
    ("odm", "CDISC ODM 1.3.2 archive (XML): metadata, data and audit records"),
]
FORMAT_CHOICES = [
    ("csv", "CSV"),
    ("json", "Dataset-JSON v1.1 (SDTM datasets)"),
    ("xpt", "SAS XPORT v5 (.xpt)"),
    ("sav", "SPSS (.sav)"),
    ("dta", "Stata (.dta)"),
]
UNBLINDED_KIND_CHOICES = [
    ("treatment_means", "Treatment means: one row per participant and treatment"),
    ("analysis", "Analysis: one row per participant, period and outcome (lm, lmer, PROC MIXED)"),
    ("flow", "Flow of participants (CONSORT crossover): one row per stage and sequence"),
]


class ExportForm(forms.Form):
    study = forms.ModelChoiceField(queryset=Study.objects.none())
    kinds = forms.MultipleChoiceField(
        choices=KIND_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="One kind downloads a CSV; several download a zip with a manifest.",
    )
    sites = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all yours."
    )
    periods = forms.TypedMultipleChoiceField(
        required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    statuses = forms.MultipleChoiceField(
        required=False, choices=AssessmentStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    format = forms.ChoiceField(
        choices=FORMAT_CHOICES,
        initial="csv",
        required=False,
        help_text="SDTM: CSV, Dataset-JSON or XPT. Long, wide and the analysis files: CSV, XPT, "
        "SPSS or Stata. The other kinds stay in their own format (define.xml is XML).",
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        studies = Study.objects.filter(pk__in=access.study_ids_where(user, access.EXPORT))
        self.fields["study"].queryset = studies
        if studies.count() == 1:
            self.fields["study"].initial = studies.first()
        sites = access.participants_where(user, access.EXPORT).values_list("site__code", flat=True)
        self.fields["sites"].choices = [(c, c) for c in sorted(set(sites))]
        most = max((s.number_of_periods for s in studies), default=0)
        self.fields["periods"].choices = [(n, n) for n in range(1, most + 1)]
        if access.may_export_unblinded(user):
            self.fields["kinds"].choices = KIND_CHOICES + UNBLINDED_KIND_CHOICES
            self.fields["unblinded"] = forms.BooleanField(
                required=False,
                label="Unblinded",
                help_text="Adds sequence, block and treatment columns. The download is audited.",
            )


def export_view(request: HttpRequest) -> HttpResponse:
    if not access.staff_can(request.user, access.EXPORT):
        raise Http404
    form = ExportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        export_request = ExportRequest(
            study=data["study"],
            kinds=tuple(data["kinds"]),
            blinded=not data.get("unblinded", False),
            site_codes=tuple(data["sites"]),
            periods=tuple(data["periods"]),
            statuses=tuple(data["statuses"]),
            format=data["format"] or "csv",
        )
        try:
            export = export_start(user=request.user, request=export_request)
        except PermissionDenied as exc:
            # The page is hers; what she asked of it is not: the form again, with the reason.
            form.add_error(None, str(exc))
        else:
            response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
            response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
            return response
    context = {**admin.site.each_context(request), "title": "Export study data", "form": form}
    return TemplateResponse(request, "admin/diary/pages/exports.html", context)
