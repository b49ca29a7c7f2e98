"""Forms of the participant's diary."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext_lazy as _

from diary.auth import is_participant_account, password_set_by_link


class LoginForm(AuthenticationForm):
    """Django's login form, with the identifier a participant actually knows."""

    username = forms.CharField(
        label=_("Study ID or e-mail address"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The study ID, e-mail address or password is not correct. Please try again."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        """Only participants log in here: a staff account (whose second factor only the admin's
        login asks for) is refused exactly as a wrong password is: the same message, and a
        failed login that the audit trail and the lockout count, so that the answer does not
        tell whether the password was right."""
        super().confirm_login_allowed(user)
        if not is_participant_account(user):
            user_login_failed.send(
                sender=__name__,
                credentials={"username": self.cleaned_data.get("username", "")},
                request=self.request,
            )
            raise self.get_invalid_login_error()


class LinkPasswordForm(SetPasswordForm):
    """Her new password, chosen with her invitation or reset link: the one form a
    participant's password may be validated by (diary.passwords refuses every other)."""

    def validate_password_for_user(self, user, *args, **kwargs) -> None:
        with password_set_by_link():
            super().validate_password_for_user(user, *args, **kwargs)


class PasswordForgottenForm(forms.Form):
    identifier = forms.CharField(label=_("Study ID or e-mail address"), max_length=254)


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class PeriodStartForm(forms.Form):
    started_on = forms.DateField(label=_("First day of your period"), widget=_DateInput())

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["started_on"].initial = today
        self.fields["started_on"].widget.attrs["max"] = today.isoformat()


class ClosingStartForm(forms.Form):
    started_on = forms.DateField(label=_("First day of your next period"), widget=_DateInput())

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["started_on"].initial = today
        self.fields["started_on"].widget.attrs["max"] = today.isoformat()


class PeriodEndForm(forms.Form):
    ended_on = forms.DateField(label=_("Last day of your period"), widget=_DateInput())

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ended_on"].initial = today
        self.fields["ended_on"].widget.attrs["max"] = today.isoformat()


class PeriodCorrectForm(forms.Form):
    """Only the dates still inside the grace time are offered."""

    started_on = forms.DateField(label=_("First day of your period"), widget=_DateInput())
    ended_on = forms.DateField(label=_("Last day of your period"), widget=_DateInput())

    def __init__(self, *args, period, correctable: dict[str, bool], today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("started_on", "ended_on"):
            if not correctable[name]:
                del self.fields[name]
            else:
                self.fields[name].initial = getattr(period, name)
                self.fields[name].widget.attrs["max"] = today.isoformat()


class ReviewForm(forms.Form):
    """The confirmation box, shown only when questions are unanswered (the submission checks
    it)."""

    confirm_unanswered = forms.BooleanField(
        required=False, label=_("I have left these questions unanswered on purpose.")
    )

    def __init__(self, *args, unanswered: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not unanswered:
            del self.fields["confirm_unanswered"]


class ChangeRequestForm(forms.Form):
    """Her reason for saying an answer is wrong (the template lays it out by hand, so that
    the error is tied to the field and announced)."""

    reason = forms.CharField(
        label=_("Why is this answer wrong?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": _("Please write a short reason."),
            "max_length": _("Please keep it under 1000 characters."),
        },
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Please write a short reason."))
        return reason


class ReminderPreferencesForm(forms.Form):
    """How she wants her reminders; the number is checked by the service (E.164)."""

    channel = forms.ChoiceField(
        label=_("How should we remind you?"),
        choices=[
            ("email", _("By e-mail")),
            ("sms", _("By text message (SMS)")),
            ("push", _("By a notification on this phone or computer")),
        ],
        widget=forms.RadioSelect,
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=32,
        help_text=_(
            "With the country code, for example +45 20 12 34 56. Needed for text messages."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
    )

    def __init__(self, *args, offered: set[str], **kwargs) -> None:
        # Only the channels this server can deliver (and the one she has, whatever it is).
        super().__init__(*args, **kwargs)
        field = self.fields["channel"]
        field.choices = [(value, label) for value, label in field.choices if value in offered]
