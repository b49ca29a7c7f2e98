"""Blind proof: crawl every admin page, filter, ordering, change page, custom page and action
reachable by blinded staff on the demo study, and find no allocation anywhere.

The same crawler run as the unblinded statistician does find the treatments and sequences, so
the check can fail.
"""

from __future__ import annotations

import html
import re
from collections import deque
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from diary.models import Study
from diary.services.participants import participant_activate, participant_enrol
from diary.services.randomization import allocation_list_generate

pytestmark = pytest.mark.django_db

FORBIDDEN = {
    "treatment name": re.compile(r"Anakinra|Placebo", re.IGNORECASE),
    "sequence code": re.compile(r"\b(AP|PA)\b"),
    "allocation": re.compile(r"allocation", re.IGNORECASE),
    "sequence": re.compile(r"\bsequences?\b", re.IGNORECASE),
    "treatment": re.compile(r"\btreatments?\b", re.IGNORECASE),
}
SKIP = ("/admin/logout/", "/admin/jsi18n/", "/admin/r/")
HREF = re.compile(r'href="([^"]+)"')
ACTION_OPTION = re.compile(r'<option value="([a-z_]+)">')
SELECTABLE = re.compile(r'name="_selected_action" value="(\d+)"')
# Every filter option, ordering and page is visited on its own; combinations of them show
# the same rows in another order, and multi-column orderings (o=1.-2.3) grow combinatorially.
MAX_PARAMS = 1


@pytest.fixture
def demo(db, django_capture_on_commit_callbacks) -> Study:
    with override_settings(DEBUG=True):
        call_command("demo_study")
    study = Study.objects.get(code="ENDO-ANK")
    User = get_user_model()
    statistician = User.objects.get(username="statistician")
    # A concealed list and one participant randomized from it, so slots and list events exist.
    allocation_list_generate(
        study=study,
        block_sizes=[2, 4],
        slots_per_stratum=8,
        stratify_by_site=True,
        actor=statistician,
        seed=5,
    )
    with django_capture_on_commit_callbacks(execute=True):
        participant = participant_enrol(
            study=study,
            site=study.sites.get(code="S01"),
            subject_id="S01-099",
            email="s01-099@example.org",
            actor=User.objects.get(username="coordinator1"),
        )
        participant_activate(participant=participant, actor=None)
    assert participant.allocation_slot is not None
    return study


def normalise(base: str, href: str) -> str | None:
    url = urljoin(base, html.unescape(href))
    parts = urlsplit(url)
    if not parts.path.startswith("/admin/") or parts.path.startswith(SKIP):
        return None
    params = [
        (k, v.split(".")[0] if k == "o" else v)
        for k, v in parse_qsl(parts.query)
        if k != "_changelist_filters"
    ]
    if len(params) > MAX_PARAMS:
        return None
    return parts.path + ("?" + urlencode(sorted(params)) if params else "")


def leaks(text: str, study: Study) -> list[str]:
    # The trial's public title names the drug; it is not an allocation.
    text = text.replace(study.name, "")
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(text)]


def crawl(client, study: Study, *, max_pages: int | None = None) -> dict[str, list[str]]:
    """Visit everything reachable from the admin index; returns {url: [leak kinds]}."""
    found: dict[str, list[str]] = {}
    seen = {"/admin/"}
    queue = deque(["/admin/"])
    visited = 0
    while queue and (max_pages is None or visited < max_pages):
        url = queue.popleft()
        visited += 1
        response = client.get(url, follow=True)
        assert response.status_code in (200, 404), (url, response.status_code)
        text = response.content.decode()
        if kinds := leaks(text, study):
            found[url] = kinds
        for href in HREF.findall(text):
            target = normalise(url, href)
            if target and target not in seen:
                seen.add(target)
                queue.append(target)
        found.update(try_actions(client, url, text, study))
    return found


def try_actions(client, url: str, text: str, study: Study) -> dict[str, list[str]]:
    """Post every offered action on the first selectable row: intermediate pages and the
    messages after an action must not leak either."""
    if "?" in url or 'name="action"' not in text:
        return {}
    rows = SELECTABLE.findall(text)
    found = {}
    for action in ACTION_OPTION.findall(text.split('name="action"')[1].split("</select>")[0]):
        response = client.post(
            url, {"action": action, "_selected_action": rows[:1], "index": 0}, follow=True
        )
        assert response.status_code == 200, (url, action)
        if kinds := leaks(response.content.decode(), study):
            found[f"POST {url} action={action}"] = kinds
    return found


@pytest.mark.parametrize("username", ["coordinator1", "coordinator2", "monitor", "admin"])
def test_blinded_staff_find_no_allocation_anywhere(client, demo, username):
    user = get_user_model().objects.get(username=username)
    client.force_login(user)
    found = crawl(client, demo)
    if user.is_superuser:
        # The system admin manages users and groups: the permission catalogue names every
        # model ("Can view allocation"). That is configuration, not allocation data; the
        # names and codes must still not appear.
        found = {
            url: [k for k in kinds if k in ("treatment name", "sequence code")]
            for url, kinds in found.items()
            if not url.startswith(("/admin/auth/", "POST /admin/auth/"))
        }
        found = {url: kinds for url, kinds in found.items() if kinds}
    assert found == {}


# A participant's contact: her e-mail address (the demo's are <study id>@example.org).
CONTACT = re.compile(r"\bs0\d-\d{3}@example\.org", re.IGNORECASE)


def contacts_found(client, study: Study) -> dict[str, list[str]]:
    """Crawl as `crawl` does, collecting the participants' e-mail addresses on every page."""
    found: dict[str, list[str]] = {}
    original = client.get

    def get(path, *args, **kwargs):
        response = original(path, *args, **kwargs)
        if hits := CONTACT.findall(response.content.decode()):
            found[path] = sorted(set(hits))
        return response

    client.get = get
    crawl(client, study)
    return found


@pytest.mark.parametrize("username", ["monitor", "admin"])
def test_roles_without_contact_rights_find_no_participant_email(client, demo, username):
    """Contacts stay apart (issue 13, item 8): the monitor and the blinded superuser, whose
    roles do not read contacts, crawl everything they reach, the user admin included, and find
    no participant's e-mail address."""
    client.force_login(get_user_model().objects.get(username=username))
    assert contacts_found(client, demo) == {}


def test_the_contact_check_finds_addresses_where_the_role_may_read_them(client, demo):
    """The check can fail: the coordinator reads her site's participants' addresses."""
    client.force_login(get_user_model().objects.get(username="coordinator1"))
    assert contacts_found(client, demo)


def test_the_crawl_covers_dashboard_filters_change_pages_and_actions(client, demo):
    client.force_login(get_user_model().objects.get(username="coordinator1"))
    visited: list[str] = []
    original = client.get

    def get(path, *args, **kwargs):
        visited.append(path)
        return original(path, *args, **kwargs)

    client.get = get
    crawl(client, demo)
    assert "/admin/diary/participant/compliance/" in visited
    assert any(v.startswith("/admin/diary/participant/compliance/?period=") for v in visited)
    assert any(v.startswith("/admin/diary/participant/?status__exact=") for v in visited)
    assert any(re.match(r"/admin/diary/participant/\d+/change/$", v) for v in visited)
    assert any("o=" in v for v in visited)
    assert "/admin/diary/participant/add/" in visited


def test_the_statistician_does_see_the_allocation(client, demo):
    client.force_login(get_user_model().objects.get(username="statistician"))
    found = crawl(client, demo, max_pages=120)
    kinds = {kind for url_kinds in found.values() for kind in url_kinds}
    assert {"treatment name", "sequence code", "allocation"} <= kinds


@pytest.mark.parametrize("username", ["coordinator1", "monitor", "admin"])
def test_blinded_staff_cannot_post_for_the_flow_export(client, demo, username):
    """The flow has per-sequence counts: not a choice for blinded staff, even when posted."""
    client.force_login(get_user_model().objects.get(username=username))
    response = client.post(
        "/admin/exports/", {"study": demo.pk, "kinds": ["flow"], "unblinded": "on"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert leaks(response.content.decode(), demo) == []
    assert "Select a valid choice" in response.content.decode()
