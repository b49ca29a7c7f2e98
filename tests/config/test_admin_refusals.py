"""The one refusal rule, held by the admin site itself: a page she may not open does not exist
for her (404), for every model admin, Django's and third-party ones and any added later."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.sites import site as default_site
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from diary.models import Study

pytestmark = pytest.mark.django_db


def staff_request(user):
    request = RequestFactory().get("/admin/anything/")
    request.user = SimpleLazyObject(lambda: user)
    request.user.is_verified = lambda: True  # no device: the second factor is not asked
    request.session = {}
    return request


def test_a_model_admin_added_later_refuses_with_404(world):
    """A new ModelAdmin with Django's own permission checks, on the project's site: staff
    without the permission get 404 on each of its views, never 403."""

    class LaterAdmin(admin.ModelAdmin):
        pass

    later = LaterAdmin(Study, default_site)
    views = {
        "changelist": (later.changelist_view, ()),
        "add": (later.add_view, ()),
        "change": (later.change_view, (str(world.study.pk),)),
        "delete": (later.delete_view, (str(world.study.pk),)),
    }
    for name, (view, args) in views.items():  # noqa: B007 - the name shows in a failure
        wrapped = default_site.admin_view(view)
        with pytest.raises(Http404):
            wrapped(staff_request(world.outsider), *args)
        with pytest.raises(PermissionDenied):  # what Django itself says, unwrapped
            view(staff_request(world.outsider), *args)


def test_anonymous_visitors_are_still_sent_to_the_login(client):
    response = client.get("/admin/auth/user/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_refusal_answers_404_through_the_whole_stack(client, world):
    client.force_login(world.coordinator1)
    for url in ("/admin/auth/user/", "/admin/auth/group/add/", "/admin/otp_totp/totpdevice/"):
        assert client.get(url).status_code == 404, url
