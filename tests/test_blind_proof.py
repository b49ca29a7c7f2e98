"""Blind proof: crawl every admin page, filter, ordering, change page, custom page and action
reachable by blinded staff on the demo study, and find no allocation anywhere.

Before the crawl the statistician runs an unblinded export and downloads the audit trail: no
page, list, event page, timeline or CSV a blinded role reaches may hold anything computed from
the unblinded files either (their SHA-256, names, byte and row counts), from which a blinded
reader could match candidate allocations (issue 13, item 1).

The same crawler run as the unblinded statistician does find the treatments, sequences and the
fingerprint, so the check can fail.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections import deque
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from pypdf import PdfReader

from diary.models import Response, Study
from diary.selectors.casebook import casebook_hash_now
from diary.services.change_requests import (
    change_request_accept,
    change_request_decline,
    change_request_make,
)
from diary.services.participants import participant_activate, participant_enrol
from diary.services.randomization import allocation_list_generate
from diary.services.signatures import casebook_sign
from tests.export_fingerprints import Fingerprint, unblinded_export_run

pytestmark = pytest.mark.django_db

FORBIDDEN = {
    "treatment name": re.compile(r"Anakinra|Placebo", re.IGNORECASE),
    "sequence code": re.compile(r"\b(AP|PA)\b"),
    "allocation": re.compile(r"allocation", re.IGNORECASE),
    "sequence": re.compile(r"\bsequences?\b", re.IGNORECASE),
    "treatment": re.compile(r"\btreatments?\b", re.IGNORECASE),
}
SKIP = ("/admin/logout/", "/admin/jsi18n/", "/admin/r/")
# Reached by a form, not a link: the audit trail's CSV.
DOWNLOADS = ("/admin/audit/export/?download=1",)
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
    _site_records(study)
    return study


def _site_records(study: Study) -> None:
    """Change requests (accepted, declined, pending) and a signature, so that the site's
    pages of them have rows to crawl."""
    User = get_user_model()
    investigator = User.objects.get(username="investigator1")
    responses = Response.objects.filter(
        assessment__participant__site__code="S01", superseded_by__isnull=True
    ).select_related("assessment__participant")
    first, second, third = responses.filter(instrument_key="vas_dysmenorrhea").order_by("pk")[:3]
    asked = [
        change_request_make(
            participant=r.assessment.participant,
            response=r,
            item_key="vas_dysmenorrhea",
            reason="I marked the wrong end",
        )
        for r in (first, second, third)
    ]
    change_request_accept(
        request=asked[0],
        new_value=(first.answers["vas_dysmenorrhea"] + 7) % 101,
        reason="Confirmed with her by phone",
        actor=investigator,
    )
    change_request_decline(
        request=asked[1], reason="Her paper notes agree with the diary", actor=investigator
    )
    device = TOTPDevice.objects.create(user=investigator, name="app", confirmed=True)
    participant = asked[0].participant
    casebook_sign(
        participant=participant,
        actor=investigator,
        password=settings.DEMO_PASSWORD,
        token=f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=6):06d}",
        hash_seen=casebook_hash_now(participant=participant),
        time_zone="Europe/Copenhagen",
    )


def login(client, user) -> None:
    """Logged in, with her second factor when she has one (the admin asks it of her)."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


@pytest.fixture
def fingerprint(demo, client) -> Fingerprint:
    """The statistician's unblinded export of the demo study, then her audit-trail download
    (whose row count counted unblinded events)."""
    statistician = get_user_model().objects.get(username="statistician")
    found = unblinded_export_run(study=demo, user=statistician)
    client.force_login(statistician)
    b"".join(client.get(DOWNLOADS[0]).streaming_content)
    client.logout()
    return found


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


def leaks(text: str, study: Study, fingerprint: Fingerprint | None = None) -> list[str]:
    found = fingerprint.found_in(text) if fingerprint is not None else []
    # The trial's public title names the drug; it is not an allocation.
    text = text.replace(study.name, "")
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(text)] + found


def text_of(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode()


def crawl(
    client, study: Study, *, max_pages: int | None = None, fingerprint: Fingerprint | None = None
) -> dict[str, list[str]]:
    """Visit everything reachable from the admin index (and the downloads behind forms);
    returns {url: [leak kinds]}."""
    found: dict[str, list[str]] = {}
    seen = {"/admin/", *DOWNLOADS}
    queue = deque(["/admin/", *DOWNLOADS])
    visited = 0
    while queue and (max_pages is None or visited < max_pages):
        url = queue.popleft()
        visited += 1
        response = client.get(url, follow=True)
        assert response.status_code in (200, 404), (url, response.status_code)
        text = text_of(response)
        if kinds := leaks(text, study, fingerprint):
            found[url] = kinds
        for href in HREF.findall(text):
            target = normalise(url, href)
            if target and target not in seen:
                seen.add(target)
                queue.append(target)
        found.update(try_actions(client, url, text, study, fingerprint))
    return found


def try_actions(
    client, url: str, text: str, study: Study, fingerprint: Fingerprint | None = None
) -> dict[str, list[str]]:
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
        if kinds := leaks(response.content.decode(), study, fingerprint):
            found[f"POST {url} action={action}"] = kinds
    return found


@pytest.mark.parametrize(
    "username", ["coordinator1", "coordinator2", "monitor", "admin", "investigator1"]
)
def test_blinded_staff_find_no_allocation_anywhere(client, demo, fingerprint, username):
    user = get_user_model().objects.get(username=username)
    login(client, user)
    visited: list[str] = []
    original = client.get

    def get(path, *args, **kwargs):
        visited.append(path)
        return original(path, *args, **kwargs)

    client.get = get
    found = crawl(client, demo, fingerprint=fingerprint)
    # Every blinded role read the audit trail's CSV; the system admin the system view too.
    assert DOWNLOADS[0] in visited
    if user.is_superuser:
        assert {"/admin/audit/system/", "/admin/audit/system/?download=1"} <= set(visited)
    if username == "investigator1":
        # Her pages: the change requests (one to decide), a casebook to sign, her trail.
        assert "/admin/change-requests/" in visited
        assert any(re.match(r"/admin/change-requests/\d+/$", v) for v in visited)
        assert any(re.match(r"/admin/casebook/\d+/sign/$", v) for v in visited)
        assert any(v.startswith("/admin/audit/participant/") for v in visited)
    if user.is_superuser:
        # The system admin manages users and groups: the permission catalogue names every
        # model ("Can view allocation"). That is configuration, not allocation data; the
        # names, codes and the unblinded export's fingerprint must still not appear.
        found = {
            url: [
                k for k in kinds if k not in FORBIDDEN or k in ("treatment name", "sequence code")
            ]
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
        text = text_of(response)
        if response.streaming:  # read once here: hand the crawl the same bytes again
            response.streaming_content = [text.encode()]
        if hits := CONTACT.findall(text):
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


def test_the_crawl_covers_dashboard_filters_change_pages_and_actions(client, demo, fingerprint):
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
    # The audit trail: its list, an event's page, a timeline and the CSV.
    assert any(re.match(r"/admin/diary/auditevent/\d+/change/$", v) for v in visited)
    assert any(v.startswith("/admin/audit/participant/") for v in visited)
    assert "/admin/audit/export/?download=1" in visited


def test_the_statistician_does_see_the_allocation(client, demo, fingerprint):
    client.force_login(get_user_model().objects.get(username="statistician"))
    found = crawl(client, demo, max_pages=120, fingerprint=fingerprint)
    kinds = {kind for url_kinds in found.values() for kind in url_kinds}
    assert {"treatment name", "sequence code", "allocation"} <= kinds
    # And the unblinded export's fingerprint, in her audit trail's CSV.
    assert any(kind.startswith("sha256 of") for kind in found.get(DOWNLOADS[0], []))


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


def test_the_sites_own_copy_holds_no_allocation(
    client, demo, fingerprint, settings, tmp_path, tasks_run_now, django_capture_on_commit_callbacks
):
    """The copy a coordinator makes and downloads from its page (issue 17, item 5): every
    casebook (read back with pypdf), CSV file and the manifest, free of treatments, sequences
    and the unblinded export's fingerprint."""
    settings.SITE_COPY_DIR = tmp_path
    coordinator = get_user_model().objects.get(username="coordinator1")
    client.force_login(coordinator)
    site = demo.sites.get(code="S01")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/site-copy/", {"site": site.pk})
    page = client.get("/admin/site-copy/").content.decode()
    assert not leaks(page, demo, fingerprint)
    href = re.search(r'href="(/admin/site-copy/\d+/download/)"', page).group(1)
    bundle = zipfile.ZipFile(io.BytesIO(client.get(href).content))
    casebooks = [n for n in bundle.namelist() if n.endswith(".pdf")]
    assert casebooks and "manifest.json" in bundle.namelist()
    for name in bundle.namelist():
        data = bundle.read(name)
        if name.endswith(".pdf"):
            pages = PdfReader(io.BytesIO(data)).pages
            # A cell wraps its text over lines: read it as one line of words.
            text = " ".join(" ".join(p.extract_text() for p in pages).split())
        else:
            text = data.decode()
        assert leaks(text, demo, fingerprint) == [], name
