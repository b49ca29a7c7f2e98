"""Forms of the admin: study settings, and the custom pages' enrolment, reasons and
allocation list."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from diary import access
from diary.models import Site, Study
from scoring.definitions import instruments_available


def sites_where(user: AbstractBaseUser, perm: str) -> QuerySet[Site]:
    memberships = access.memberships_granting(user, perm)
    return Site.objects.filter(
        Q(study__in=memberships.filter(site__isnull=True).values("study_id"))
        | Q(pk__in=memberships.filter(site__isnull=False).values("site_id"))
    ).select_related("study")


def _modules_available() -> str:
    """Each shipped instrument with optional modules, and their keys (for the help text)."""
    latest = {instrument.key: instrument for instrument in instruments_available()}
    return "; ".join(
        f"{key}: {', '.join(module.key for module in instrument.modules)}"
        for key, instrument in sorted(latest.items())
        if instrument.modules
    )


class StudySettingsForm(forms.ModelForm):
    """The study's configuration (StudyAdmin supplies the model and its fields); the model
    validates every value (Study.full_clean)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("instrument_modules")  # absent where the page is read-only
        if field is not None:
            available = _modules_available() or "none"
            field.help_text = f"{field.help_text} Modules available: {available}."
            field.widget.attrs.update(rows=3, cols=60)

    def clean_instrument_modules(self) -> object:
        # An emptied box means no optional modules, not a missing value.
        return self.cleaned_data["instrument_modules"] or {}


class SiteChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Site) -> str:
        return f"{obj.study.code} / {obj.code} {obj.name}"


class EnrolForm(forms.Form):
    site = SiteChoiceField(queryset=Site.objects.none())
    subject_id = forms.CharField(
        label="Study ID", max_length=32, help_text="Pseudonymous identifier, e.g. S01-004."
    )
    email = forms.EmailField(
        help_text="Used only to send her the invitation; kept apart from the clinical data "
        "and never exported."
    )
    time_zone = forms.ChoiceField(
        required=False,
        help_text="Her time zone, for questionnaire windows. Empty: the study's time zone.",
    )
    language = forms.ChoiceField(required=False, choices=[("", "Study default")])
    send_invitation = forms.BooleanField(
        required=False, initial=True, label="Send the invitation e-mail now"
    )

    def __init__(self, *args, user: AbstractBaseUser, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites_where(user, "diary.enrol_participant")
        self.fields["time_zone"].choices = [("", "Study default")] + [
            (zone, zone) for zone in sorted(zoneinfo.available_timezones())
        ]
        self.fields["language"].choices = [("", "Study default"), *settings.LANGUAGES]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in the audit trail with your name and the time.",
    )


class UploadForm(forms.Form):
    study = forms.ModelChoiceField(queryset=Study.objects.none())
    file = forms.FileField(
        label="Allocation list (CSV)",
        help_text="Header slot,sequence or slot,sequence,stratum; UTF-8.",
    )

    def __init__(self, *args, studies: QuerySet[Study], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["study"].queryset = studies


class GenerateForm(forms.Form):
    study = forms.ModelChoiceField(queryset=Study.objects.none())
    block_sizes = forms.CharField(
        initial="4,6",
        help_text="Comma-separated; each block's size is drawn at random from these. Each "
        "must be a multiple of the number of sequences.",
    )
    slots_per_stratum = forms.IntegerField(min_value=1, max_value=10000, initial=100)
    stratify_by_site = forms.BooleanField(required=False, initial=True)
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2**62,
        help_text="Leave empty to draw one; it is recorded either way.",
    )

    def __init__(self, *args, studies: QuerySet[Study], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["study"].queryset = studies

    def clean_block_sizes(self) -> list[int]:
        try:
            sizes = [int(part) for part in self.cleaned_data["block_sizes"].split(",") if part]
        except ValueError as exc:
            raise forms.ValidationError("Give whole numbers separated by commas.") from exc
        if not sizes:
            raise forms.ValidationError("Give at least one block size.")
        return sizes
