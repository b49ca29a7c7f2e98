"""One refusal rule: a custom admin page the user may not open does not exist for her (404).

The custom pages are read from the routes (diary.admin.pages.urls and every model admin's own
URLs beyond Django's generic ones), not listed by hand, so a new page is covered here the day
it is added. Django's generic model-admin views, and third-party admins, keep Django's answers
(see README, "Access and refusals").
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import URLPattern, reverse

from diary.admin.pages.urls import page_urls
from diary.services.change_requests import change_request_make
from diary.services.site_copy import site_copy_request
from tests.conftest import make_participant, make_staff
from tests.scoring.submitting import assessment_open, submit

pytestmark = pytest.mark.django_db

GENERIC = ("_changelist", "_add", "_change", "_delete", "_history")
OURS = ("diary.", "scoring.")


def custom_page_names() -> list[str]:
    names = [p.name for p in page_urls(admin.site)]
    # The project's own model admins; third-party ones (users, devices) keep their answers.
    ours = [m for m in admin.site._registry.values() if type(m).__module__.startswith(OURS)]
    for model_admin in ours:
        names += [
            p.name
            for p in model_admin.get_urls()
            if isinstance(p, URLPattern)
            and p.name
            and not p.name.endswith(GENERIC)
            # One object's views (an authenticator's QR code) belong to its change view.
            and "pk" not in p.pattern.regex.groupindex
        ]
    return sorted(names)


def test_the_custom_pages_are_found() -> None:
    """Guards the parametrisation below against a walk that finds nothing."""
    names = custom_page_names()
    assert {"exports", "audit_export", "diary_participant_compliance", "unblinding"} <= set(names)
    assert {"diary_allocationlist_upload", "diary_allocationlist_generate"} <= set(names)


@pytest.fixture
def urls(world) -> dict[str, str]:
    """Every custom page, its parameters filled with participant A's objects."""
    response = submit(world.participant_a, vas=40)["vas_dysmenorrhea"]
    values = {
        "participant_id": world.participant_a.pk,
        "response_id": response.pk,
        "assessment_id": assessment_open(world.participant_a, 2).pk,
        "study_code": world.study.code,
        "request_id": change_request_make(
            participant=world.participant_a,
            response=response,
            item_key="vas_dysmenorrhea",
            reason="I meant a lower mark",
        ).pk,
        "copy_id": site_copy_request(site=world.site1, actor=world.coordinator1).pk,
    }
    patterns = {p.name: p for p in page_urls(admin.site)}
    out = {}
    for name in custom_page_names():
        params = patterns[name].pattern.regex.groupindex if name in patterns else {}
        out[name] = reverse(f"admin:{name}", kwargs={k: values[k] for k in params})
    return out


def assert_refused(user, urls: dict[str, str]) -> None:
    """Every custom page answers this user 404, to GET and to POST."""
    client = Client(raise_request_exception=False)
    client.force_login(user)
    wrong = []
    for name, url in urls.items():
        for method in (client.get, client.post):
            status = method(url).status_code
            if status != 404:
                wrong.append(f"{method.__name__.upper()} {name} {url}: {status}")
    assert not wrong, "\n".join(wrong)


# Pages of no study: the system audit view opens for superusers and for holders of
# diary.view_system_audit by name, membership or not (diary.access.may_view_system_audit).
SYSTEM_PAGES = {"system_audit"}


def study_pages(urls: dict[str, str]) -> dict[str, str]:
    return {name: url for name, url in urls.items() if name not in SYSTEM_PAGES}


def assert_system_pages_open(user, urls: dict[str, str]) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    opened = {name: client.get(urls[name]).status_code for name in SYSTEM_PAGES}
    assert opened == dict.fromkeys(SYSTEM_PAGES, 200)


def test_staff_without_a_study_role_find_no_custom_page(world, urls):
    """Staff without a membership: every custom page is a 404."""
    assert_refused(world.outsider, urls)


def test_a_superuser_without_a_study_role_finds_only_the_system_pages(world, urls):
    """A superuser without a membership: every study page is a 404; the system audit view of
    events with no study opens."""
    root = make_staff("root", superuser=True)
    assert_refused(root, study_pages(urls))
    assert_system_pages_open(root, urls)


def every_permission_by_name(user) -> None:
    """Every permission of the app, given to the user herself (not through a role group)."""
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="diary"))


def test_permissions_without_a_membership_open_nothing(world, urls):
    """Every permission of the app given by name, emergency unblinding included, but no
    membership: still nothing opens."""
    every_permission_by_name(world.outsider)
    assert_refused(world.outsider, study_pages(urls))
    # diary.view_system_audit is given by name: the system view is hers, study pages are not.
    assert_system_pages_open(world.outsider, urls)


def test_a_membership_without_its_role_group_opens_nothing(world, urls):
    """The monitor's group taken away: her membership alone opens no page."""
    world.monitor.groups.clear()
    assert_refused(world.monitor, urls)


def revoke(group_name: str, codename: str) -> None:
    Group.objects.get(name=group_name).permissions.remove(
        Permission.objects.get(content_type__app_label="diary", codename=codename)
    )


@pytest.mark.parametrize(
    ("codename", "group", "who", "pages"),
    [
        ("export_data", "Monitor", "monitor", ["exports"]),
        ("view_audit_trail", "Monitor", "monitor", ["audit_export", "audit_timeline"]),
        (
            "correct_response",
            "Coordinator",
            "coordinator1",
            ["response_correct", "assessment_transcribe"],
        ),
    ],
)
def test_a_role_without_the_permission_is_refused_despite_its_membership(
    world, urls, codename, group, who, pages
):
    """The page opens for her; taken out of her role's group, that permission closes exactly
    its pages (404), while her membership still opens the others."""
    client = Client(raise_request_exception=False)
    client.force_login(getattr(world, who))
    assert [client.get(urls[name]).status_code for name in pages] == [200] * len(pages)
    revoke(group, codename)
    for name in pages:
        assert client.get(urls[name]).status_code == 404, name
        assert client.post(urls[name]).status_code == 404, name
    assert client.get(urls["diary_participant_compliance"]).status_code == 200
    index = client.get(reverse("admin:index")).content.decode()
    assert [name for name in pages if urls[name] in index] == []


@pytest.mark.parametrize(
    ("who", "action"), [("monitor", "withdraw"), ("coordinator1", "randomize")]
)
def test_an_action_she_may_not_run_is_answered_as_if_it_did_not_exist(world, who, action):
    """An action the list never offered her, posted anyway: the list again, nothing done (no
    403, no 500)."""
    client = Client(raise_request_exception=False)
    client.force_login(getattr(world, who))
    a = make_participant(world.study, world.site1, "S01-002")
    data = {"action": action, "_selected_action": [a.pk], "index": 0, "confirm": "1"}
    response = client.post(
        reverse("admin:diary_participant_changelist"), {**data, "reason": "Moved away"}, follow=True
    )
    assert response.status_code == 200
    if who == "coordinator1":  # she has actions, just not this one
        assert "No action selected." in response.content.decode()
    a.refresh_from_db()
    assert (a.status, hasattr(a, "allocation")) == ("active", False)
