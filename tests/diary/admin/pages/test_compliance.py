"""The blinded compliance dashboard: scope, filters, definitions shown, constant queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from diary.models import AssessmentStatus, Participant
from tests.conftest import make_participant, make_staff

pytestmark = pytest.mark.django_db

URL = "/admin/diary/participant/compliance/"


def close_soon(participant, number=1, hours=20):
    now = timezone.now()
    participant.assessments.filter(period_number=number).update(
        status=AssessmentStatus.OPEN,
        opens_at=now - timedelta(days=5),
        closes_at=now + timedelta(hours=hours),
    )


def test_coordinator_sees_her_site_only(client, world):
    close_soon(world.participant_b)
    client.force_login(world.coordinator1)
    page = client.get(URL).content.decode()
    assert "S01-001" in page
    assert "S02-001" not in page and "South" not in page


def test_monitor_sees_every_site_and_the_closing_list(client, world):
    close_soon(world.participant_b)
    client.force_login(world.monitor)
    page = client.get(URL).content.decode()
    assert "S01-001" in page and "S02-001" in page
    overdue = page.split('id="compliance-overdue"')[1].split("</table>")[0]
    assert "S02-001" in overdue and "S01-001" not in overdue


def test_the_definitions_are_on_the_page(client, world):
    client.force_login(world.monitor)
    page = client.get(URL).content.decode()
    assert "Compliance</b> = submitted / (submitted + missed)" in page
    assert (
        "a site transcription of a paper form or as a participant's late entry the site accepted"
        in page
    )


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("site={site2}", "S02-001", "S01-001"),
        ("status=withdrawn", "No participant matches", "S01-001"),
        ("status=active", "S01-001", "No participant matches"),
    ],
)
def test_filters(client, world, query, shown, hidden):
    client.force_login(world.monitor)
    page = client.get(f"{URL}?{query.format(site2=world.site2.pk)}").content.decode()
    participants = page.split('id="compliance-participants"')[1]
    assert shown in participants and hidden not in participants


def test_a_period_filter_counts_that_period_only(client, world):
    world.participant_a.assessments.filter(period_number=2).update(
        status=AssessmentStatus.MISSED,
        opens_at=timezone.now() - timedelta(days=9),
        closes_at=timezone.now() - timedelta(days=2),
    )
    client.force_login(world.coordinator1)
    row = lambda q: client.get(URL + q).content.decode().split("S01-001</a>")[1].split("</tr>")[0]  # noqa: E731
    assert "0%" in row("?period=2")
    assert "—" in row("?period=1")


def test_a_coordinator_cannot_filter_her_way_into_another_site(client, world):
    client.force_login(world.coordinator1)
    page = client.get(f"{URL}?site={world.site2.pk}").content.decode()
    assert "S02-001" not in page and "S01-001" in page


@pytest.mark.parametrize("who", ["outsider", "root"])
def test_refused_without_a_study_role(client, world, who):
    user = world.outsider if who == "outsider" else make_staff("root", superuser=True)
    client.force_login(user)
    assert client.get(URL).status_code == 404


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response.url


def queries_for(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_participants(client, world):
    client.force_login(world.monitor)
    few = queries_for(client)
    for i in range(12):
        participant = make_participant(world.study, world.site1, f"S01-1{i:02d}")
        close_soon(participant, hours=10 + i)
    assert Participant.objects.count() == 14
    assert queries_for(client) == few


def test_the_page_query_count_is_fixed(client, world, django_assert_num_queries):
    client.force_login(world.monitor)
    # Session, user, her authenticators (none: no code to ask for), permissions x2,
    # memberships (once per request), studies, sites, page count, page rows, site rows, periods
    # per site, closing soon. (The session was renewed at login, so this request does not
    # write it.)
    with django_assert_num_queries(13):
        client.get(URL)


def test_the_admin_index_links_to_the_dashboard_for_study_staff_only(client, world):
    client.force_login(world.monitor)
    assert URL in client.get("/admin/").content.decode()
    client.force_login(make_staff("root", superuser=True))
    assert URL not in client.get("/admin/").content.decode()


def test_participants_can_be_ordered_lowest_compliance_first(client, world):
    other = make_participant(world.study, world.site1, "S01-002")
    now = timezone.now()
    for participant, status in ((world.participant_a, "submitted"), (other, "missed")):
        participant.assessments.filter(period_number=1).update(
            status=status,
            opens_at=now - timedelta(days=9),
            closes_at=now - timedelta(days=2),
            submitted_at=now - timedelta(days=3) if status == "submitted" else None,
        )
    client.force_login(world.coordinator1)
    page = client.get(f"{URL}?order=compliance").content.decode()
    table = page.split('id="compliance-participants"')[1]
    assert table.index("S01-002") < table.index("S01-001")
    table = client.get(URL).content.decode().split('id="compliance-participants"')[1]
    assert table.index("S01-001") < table.index("S01-002")
