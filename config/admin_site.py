"""The staff admin site: password plus TOTP second factor (django-otp).

Staff without a device log in with their password; once a device is confirmed, a token is
required at every login, and every admin page needs a session verified by it, with DEBUG on
or off. Unblinded roles must have a verified second factor before any admin page opens
(OTP_REQUIRED_FOR_UNBLINDED, on by default in production).

The site also holds the one refusal rule for every admin view (admin_view): a page the user
may not open does not exist for her, 404, never Django's 403.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import DataError, transaction
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from diary import access
from diary.services.authenticators import authenticator_confirm


def otp_required_for(user) -> bool:
    """Whether her role must have a second factor (OTP_REQUIRED_FOR_UNBLINDED)."""
    return settings.OTP_REQUIRED_FOR_UNBLINDED and access.is_unblinded(user)


def second_factor_required(user) -> bool:
    """Whether admin pages need a verified second factor from her: she has a confirmed
    device, whatever DEBUG says, or her role must have one."""
    return user_has_device(user) or otp_required_for(user)


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Asks for a token only from staff who have a confirmed device."""

    def clean(self):
        self.cleaned_data = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and user_has_device(user):
            self.clean_otp(user)
        return self.cleaned_data


class QueryParametersChecked:
    """What a model admin's URL may ask for, before Django builds a query from it.

    Found by tests/test_bad_input_admin.py; each was a 500 and is now a 400:

    - `_to_field` names only a column of the model (then Django's own rules apply). Django's
      ModelAdmin.to_field_allowed reads `primary_key` from whatever field the name resolves
      to, and a reverse relation (`?_to_field=allocation` on participants) has none.
    - No `__range` lookup: the admin's own links never use one, and from a URL it is a string
      whose characters become the range's bounds (IndexError, or a mismatch of placeholders).
    - No NUL character in a lookup's value: PostgreSQL text cannot hold one (DataError).
    - Any other value the field cannot take (`?ip_address=0`, which the driver cannot adapt)
      fails only when the list's query runs; that is caught there, in a savepoint, and
      answered as Django answers a lookup it cannot apply: back to the list with `?e=1`.

    Mixed into every model admin registered on this site, Django's and third-party ones
    included (EproAdminSite.register).
    """

    def get_changelist(self, request: HttpRequest, **kwargs):
        return _values_checked(super().get_changelist(request, **kwargs))  # type: ignore[misc]

    def to_field_allowed(self, request: HttpRequest, to_field: str) -> bool:
        try:
            field = self.opts.get_field(to_field)  # type: ignore[attr-defined]
        except FieldDoesNotExist:
            return False
        if not field.concrete:
            return False
        return super().to_field_allowed(request, to_field)  # type: ignore[misc]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        if lookup.split(LOOKUP_SEP)[-1] == "range" or "\x00" in str(value):
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]


@functools.cache
def _values_checked(changelist: type[ChangeList]) -> type[ChangeList]:
    """`changelist` whose query, run with the URL's values, refuses those the field's column
    cannot take (IncorrectLookupParameters) instead of failing."""

    def get_results(self, request: HttpRequest) -> None:
        try:
            with transaction.atomic():  # a database refusal must not break the request's
                changelist.get_results(self, request)
        except (ValueError, TypeError, DataError) as exc:
            raise IncorrectLookupParameters(exc) from exc

    return type(changelist.__name__, (changelist,), {"get_results": get_results})


class EproAdminSite(admin.AdminSite):
    site_header = "ePRO diary administration"
    site_title = "ePRO diary"
    index_title = "Study administration"
    # No "View site": staff have no diary, and its pages send them back here.
    site_url = None
    login_form = StaffLoginForm
    login_template = "otp/admin111/login.html"

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        context["study_pages"] = self.study_pages(request)
        return context

    def study_pages(self, request: HttpRequest) -> list[tuple[str, str]]:
        """The custom pages this user may open, for the index (never one she would get 404)."""
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            return []
        pages = []
        # Each question is the one its page asks; memberships are read once per request.
        if access.staff_can(user, access.VIEW_PARTICIPANT):
            pages.append((reverse("admin:diary_participant_compliance"), "Compliance dashboard"))
        if access.staff_can(user, access.EXPORT):
            pages.append((reverse("admin:exports"), "Export study data"))
        if access.staff_can(user, access.CORRECT):
            pages.append((reverse("admin:study_import"), "Import study data"))
        if access.staff_can(user, access.AUDIT_TRAIL):
            pages.append((reverse("admin:audit_export"), "Audit trail export"))
        if access.may_view_system_audit(user):
            pages.append((reverse("admin:system_audit"), "System audit trail"))
        if access.staff_can(user, access.VIEW_PARTICIPANT):
            pages.append((reverse("admin:change_requests"), "Change requests from participants"))
        if access.staff_can(user, access.SIGNALS):
            pages.append((reverse("admin:signals"), "Data-quality signals"))
            pages.append((reverse("admin:signal_queries"), "Queries to sites"))
        if access.unblinded_study_ids(user):
            pages.append((reverse("admin:arm_summary"), "Per-arm summary (unblinded)"))
        if access.may_site_copy_somewhere(user):
            pages.append((reverse("admin:site_copy"), "The site's own copy"))
        if access.lock_study_ids(user):
            pages.append((reverse("admin:study_lock"), "Study lock"))
        if access.may_emergency_unblind(user):
            pages.append((reverse("admin:unblinding"), "Emergency unblinding"))
        pages.append((reverse("admin:two_factor_setup"), "Two-factor authentication"))
        return pages

    def has_permission(self, request: HttpRequest) -> bool:
        """Active staff, verified by their second factor in this session when they have a
        device or their role needs one. A session opened by a password alone (another login
        page, a login before the device was added) opens no admin page."""
        if not super().has_permission(request):
            return False
        # Asked several times per page (the view, the sidebar): the device query runs once.
        verified = getattr(request, "_second_factor_ok", None)
        if verified is None:
            verified = request.user.is_verified() or not second_factor_required(request.user)
            request._second_factor_ok = verified  # type: ignore[attr-defined]
        return verified

    def _needs_setup(self, request: HttpRequest) -> bool:
        user = request.user
        return (
            user.is_authenticated
            and user.is_active
            and user.is_staff
            and otp_required_for(user)
            and not user.is_verified()
            and not user_has_device(user)
        )

    def admin_view(self, view, cacheable=False):
        """Every admin view (the site's, every model admin's, Django's and third-party ones
        included, and the custom pages) goes through here: the second factor first, then the
        one refusal rule. A page she may not open does not exist for her: Django's model
        admins raise PermissionDenied (list, add, change, delete, history, password change,
        autocomplete), answered here as 404, so a future model admin follows the rule too.
        Anonymous visitors are still sent to the login page (Django's wrapper, inside)."""
        inner = super().admin_view(view, cacheable)

        def wrapper(request: HttpRequest, *args, **kwargs):
            if self._needs_setup(request):
                return redirect("admin:two_factor_setup")
            try:
                return inner(request, *args, **kwargs)
            except PermissionDenied as refused:
                raise Http404("No such page.") from refused

        wrapper.__wrapped__ = inner  # type: ignore[attr-defined]
        wrapper.admin_site = self  # type: ignore[attr-defined]
        return wrapper

    def login(self, request: HttpRequest, extra_context=None):
        if self._needs_setup(request):
            return redirect("admin:two_factor_setup")
        return super().login(request, extra_context)

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, QueryParametersChecked):
            admin_class = type(
                admin_class.__name__,
                (QueryParametersChecked, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._page_routes: list[Callable[[admin.AdminSite], list[URLPattern]]] = []

    def register_pages(self, routes: Callable[[admin.AdminSite], list[URLPattern]]) -> None:
        """Add custom pages, as an app registers its model admins: `routes(site)` returns
        their URL patterns (diary.admin.pages.urls), placed before the model admins' URLs."""
        self._page_routes.append(routes)

    def get_urls(self):
        return [
            *(pattern for routes in self._page_routes for pattern in routes(self)),
            path("security/two-factor/", self.two_factor_setup, name="two_factor_setup"),
            *super().get_urls(),
        ]

    def two_factor_setup(self, request: HttpRequest) -> HttpResponse:
        """Enrol an authenticator app: show the QR code, confirm with a first token."""
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if user_has_device(user):
            messages.info(request, "Two-factor authentication is already set up.")
            return redirect("admin:index")
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
        error = ""
        if request.method == "POST":
            token = request.POST.get("token", "").strip().replace(" ", "")
            if token.isdigit() and device.verify_token(token):
                authenticator_confirm(device=device, actor=user)
                otp_login(request, device)
                messages.success(request, "Two-factor authentication is set up.")
                return redirect("admin:index")
            error = "That code did not match. Enter the 6-digit code your app shows now."
        image = io.BytesIO()
        write_qrcode_image(device.config_url, image)
        context = {
            **self.each_context(request),
            "title": "Set up two-factor authentication",
            "qr_data_uri": "data:image/svg+xml;base64,"
            + base64.b64encode(image.getvalue()).decode(),
            "secret": base64.b32encode(device.bin_key).decode(),
            "error": error,
            "required": otp_required_for(user),
        }
        return TemplateResponse(request, "admin/two_factor_setup.html", context)
