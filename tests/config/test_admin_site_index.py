"""The admin index lists exactly the study pages a user may open; her page shows scores."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from scoring.services import scoring_sweep
from tests.scoring.submitting import ehp30_answers, submit

pytestmark = pytest.mark.django_db


def index_links(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.content.decode()


def test_blinded_coordinator_is_offered_only_blinded_pages(client, world):
    page = index_links(client, world.coordinator1)
    for label in ("Compliance dashboard", "Export study data", "Audit trail export"):
        assert label in page
    assert "Per-arm summary" not in page and "Emergency unblinding" not in page


def test_statistician_is_offered_the_per_arm_summary(client, world):
    page = index_links(client, world.statistician)
    assert "Per-arm summary (unblinded)" in page
    assert client.get(reverse("admin:arm_summary")).status_code == 200


def test_emergency_unblinding_is_offered_only_when_granted(client, world):
    assert "Emergency unblinding" not in index_links(client, world.coordinator1)
    world.coordinator1.user_permissions.add(Permission.objects.get(codename="emergency_unblind"))
    world.coordinator1.refresh_from_db()
    assert "Emergency unblinding" in index_links(client, world.coordinator1)


def test_the_investigator_is_offered_her_sites_pages_and_no_unblinded_one(client, world):
    page = index_links(client, world.investigator1)
    for label in (
        "Compliance dashboard",
        "Audit trail export",
        "Change requests from participants",
        "Data-quality signals",
    ):
        assert label in page
    assert "Per-arm summary" not in page and "Emergency unblinding" not in page


def test_every_offered_page_opens(client, world):
    import re

    for user in (
        world.coordinator1,
        world.monitor,
        world.statistician,
        world.admin,
        world.investigator1,
    ):
        for url in re.findall(r'<a href="(/admin/[^"]+)">', index_links(client, user)):
            assert client.get(url).status_code == 200, (user, url)


def test_participant_page_shows_her_scores_read_only(client, world):
    submit(world.participant_a, ehp30=ehp30_answers(pain=[2] * 11), vas=40)
    scoring_sweep()
    client.force_login(world.coordinator1)
    url = reverse("admin:diary_participant_change", args=[world.participant_a.pk])
    page = client.get(url).content.decode()
    assert "Scores (0 = best, 100 = worst)" in page
    assert "<td>pain</td><td>50.0</td><td>11 of 11</td>" in page
    assert "Anakinra" not in page


INDEX_PAGES = [
    "diary_participant_compliance",
    "exports",
    "audit_export",
    "arm_summary",
    "unblinding",
    "change_requests",
    "study_lock",
    "site_copy",
]


@pytest.mark.parametrize(
    "who",
    [
        "coordinator1",
        "coordinator2",
        "monitor",
        "statistician",
        "admin",
        "outsider",
        "investigator1",
    ],
)
def test_a_page_the_index_does_not_offer_does_not_exist(client, world, who):
    """The index and the pages ask the access policy the same question: what is not offered
    is a 404, what is offered opens."""
    user = getattr(world, who)
    if who == "coordinator1":
        user.user_permissions.add(Permission.objects.get(codename="emergency_unblind"))
    page = index_links(client, user)
    for name in INDEX_PAGES:
        url = reverse(f"admin:{name}")
        expected = 200 if f'href="{url}"' in page else 404
        assert client.get(url).status_code == expected, (who, name)
