"""The system audit view: events of no study (staff logins, failed logins and lockouts of
unknown names, audit-trail downloads) were stored and shown nowhere; now superusers and staff
given diary.view_system_audit read, filter and download them (issue 13, item 7)."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from diary.models import AuditAction, AuditEvent
from tests.conftest import PASSWORD, make_staff
from tests.export_fingerprints import unblinded_export_run
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db

URL = "/admin/audit/system/"


def text_of(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode(errors="replace")


def system_rows(client, user, **params) -> list[dict[str, str]]:
    client.force_login(user)
    response = client.get(URL, {"download": "1", **params})
    assert response.status_code == 200 and response.streaming
    return list(csv.DictReader(io.StringIO(text_of(response))))


@pytest.fixture
def sysadmin(world):
    """A system administrator with no study role."""
    return make_staff("sysadmin", superuser=True)


@pytest.fixture
def auditor(world):
    """Staff without a study role, given the system audit permission by name."""
    user = make_staff("auditor")
    user.user_permissions.add(
        Permission.objects.get(codename="view_system_audit", content_type__app_label="diary")
    )
    return user


@pytest.fixture
def system_events(client, world):
    """What the attack found stored for nobody: a staff login, failed logins and the lockout
    of a name nobody has, an audit-trail download."""
    client.post(reverse("admin:login"), {"username": "monitor", "password": PASSWORD})
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("admin:login"), {"username": "ghost", "password": "guess"})
    client.force_login(world.coordinator1)
    b"".join(client.get(reverse("admin:audit_export"), {"download": "1"}).streaming_content)
    client.logout()
    system = AuditEvent.objects.filter(study__isnull=True, participant__isnull=True)
    assert {"login", "login_failed", "lockout", "exported"} <= set(
        system.values_list("action", flat=True)
    )
    return system


def test_system_events_are_listed_nowhere_else(client, world, system_events):
    """Why the view exists: no study's list or CSV shows them, even to their own actor."""
    client.force_login(world.coordinator1)
    response = client.get(reverse("admin:audit_export"), {"download": "1"})
    listed = list(csv.DictReader(io.StringIO(text_of(response))))
    assert not {row["action"] for row in listed} & {"login_failed", "lockout"}


@pytest.mark.parametrize("who", ["sysadmin", "auditor"])
def test_the_system_view_shows_every_system_event(client, world, system_events, who, request):
    rows = system_rows(client, request.getfixturevalue(who))
    shown = {(row["action"], row["actor"]) for row in rows}
    assert ("login", "monitor") in shown
    assert ("login_failed", "") in shown
    assert ("lockout", "") in shown
    assert ("exported", "coordinator1") in shown
    assert {int(row["occurred_at_utc"][:4]) for row in rows}  # UTC times
    page = client.get(URL)
    assert page.status_code == 200
    assert "<td>Failed login</td>" in text_of(page) and "<td>Locked out</td>" in text_of(page)


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "statistician", "outsider"])
def test_the_system_view_does_not_exist_for_staff_without_the_permission(client, world, who):
    client.force_login(getattr(world, who))
    assert client.get(URL).status_code == 404
    assert client.get(URL, {"download": "1"}).status_code == 404
    assert not AuditEvent.objects.filter(details__kind="system_audit_trail").exists()


def test_the_index_offers_it_to_those_it_opens_for(client, world, sysadmin):
    client.force_login(sysadmin)
    assert URL in text_of(client.get(reverse("admin:index")))
    client.force_login(world.coordinator1)
    assert URL not in text_of(client.get(reverse("admin:index")))


def test_filters_by_action_actor_and_day(client, world, system_events, sysadmin):
    assert {row["action"] for row in system_rows(client, sysadmin, action="lockout")} == {"lockout"}
    by_actor = system_rows(client, sysadmin, actor="MONITOR")
    assert by_actor and {row["actor"] for row in by_actor} == {"monitor"}
    day = system_events.latest("occurred_at").occurred_at.date()
    assert system_rows(client, sysadmin, since=str(day), until=str(day))
    assert system_rows(client, sysadmin, until="2001-01-01") == []
    page = client.get(URL, {"action": "login_failed"})
    assert "<td>Failed login</td>" in text_of(page)
    assert "<td>Locked out</td>" not in text_of(page)


@pytest.mark.parametrize(
    "params",
    [
        {"until": "9999-12-31"},
        {"since": "0001-01-01"},
        {"since": "2026-02-30"},
        {"action": "no_such_action"},
        {"until": "9999-12-31", "download": "1"},
        {"actor": "x" * 151},
    ],
)
def test_a_filter_that_does_not_hold_is_a_400_not_a_500(client, sysadmin, params):
    client.force_login(sysadmin)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert not response.streaming
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()


def test_a_page_number_out_of_range_shows_a_page(client, sysadmin):
    client.force_login(sysadmin)
    for number in ("999", "x", "-1"):
        assert client.get(URL, {"p": number}).status_code == 200


def test_the_download_is_audited_and_then_listed(client, world, sysadmin):
    rows = system_rows(client, sysadmin, action="login")
    event = AuditEvent.objects.get(details__kind="system_audit_trail")
    assert event.actor == sysadmin and event.study is None
    assert event.details["rows"] == len(rows)
    assert event.details["filters"]["action"] == "login"
    assert event.unblinded is False
    assert ("exported", "sysadmin") in {
        (row["action"], row["actor"]) for row in system_rows(client, sysadmin)
    }


def test_no_participant_or_study_event_without_a_study_role(client, world, system_events, sysadmin):
    """A system administrator reads no clinical data without a study role: her view holds
    the system events only; the study admin (a superuser with a role) also her study's."""
    rows = system_rows(client, sysadmin)
    assert {row["study"] for row in rows} == {""}
    assert {row["study_id"] for row in rows} == {""}
    assert "S01-001" not in text_of(client.get(URL))
    with_role = system_rows(client, world.admin)
    assert "enrolled" in {row["action"] for row in with_role}
    assert {"S01-001", "S02-001"} <= {row["study_id"] for row in with_role}


def test_system_events_of_unblinded_content_stay_with_unblinded_staff(client, world, sysadmin):
    """The statistician's audit CSV counted her unblinded events: its row count is unblinded
    content, so the blinded system administrator does not see that download; one unblinded
    in every study does."""
    submit(world.participant_a, number=1)
    fingerprint = unblinded_export_run(study=world.study, user=world.statistician)
    client.force_login(world.statistician)
    b"".join(client.get(reverse("admin:audit_export"), {"download": "1"}).streaming_content)
    download = AuditEvent.objects.get(details__kind="audit_trail")
    assert download.unblinded is True and download.study is None
    for user in (sysadmin, world.admin):
        client.force_login(user)
        page = text_of(client.get(URL))
        assert fingerprint.found_in(page) == []
        rows = system_rows(client, user, action="exported")
        assert "statistician" not in {row["actor"] for row in rows}
        assert fingerprint.found_in(str(rows)) == []
    world.statistician.is_superuser = True
    world.statistician.save()
    rows = system_rows(client, world.statistician, action="exported")
    assert {"statistician"} <= {row["actor"] for row in rows}
    assert fingerprint.found_in(str(rows))
