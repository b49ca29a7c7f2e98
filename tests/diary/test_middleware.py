"""Staff who land on the participant side (a bookmark, the diary's login page, the site root)
are sent to the admin, where their work is, instead of a 404. They still never log in at the
participant login (test_access_matrix.py, test_no_staff_account_logs_in_at_the_participant_login).
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import reverse

from diary.models import MenstrualPeriod
from tests.conftest import PASSWORD
from tests.scoring.submitting import assessment_open

pytestmark = pytest.mark.django_db


def diary_urls(world) -> list[str]:
    assessment = assessment_open(world.participant_a, 1)
    return [
        reverse("diary:home"),
        reverse("diary:login"),
        reverse("diary:password_forgotten"),
        reverse("diary:period_start"),
        reverse("diary:questionnaire", args=[assessment.pk]),
        reverse("diary:questionnaire_page", args=[assessment.pk, 1]),
        reverse("diary:invitation", args=["any-token"]),
    ]


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "statistician", "admin", "outsider"])
def test_staff_on_a_diary_page_are_sent_to_the_admin(client, world, who):
    client.force_login(getattr(world, who))
    for url in diary_urls(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("admin:index"), url


def test_the_admin_says_why(client, world):
    client.force_login(world.coordinator1)
    response = client.get(reverse("diary:home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert response.status_code == 200
    texts = [str(m) for m in get_messages(response.wsgi_request)] or [
        m.message for m in response.context["messages"]
    ]
    assert any("diary is for participants" in text for text in texts), texts


def test_the_site_root_takes_staff_to_the_admin(client, world):
    client.force_login(world.coordinator1)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert response.status_code == 200


def test_a_staff_post_to_the_diary_stores_nothing(client, world):
    client.force_login(world.coordinator1)
    before = MenstrualPeriod.objects.count()
    response = client.post(reverse("diary:period_start"), {"started_on": "2026-01-01"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert MenstrualPeriod.objects.count() == before


def test_staff_may_still_log_out_of_the_diary(client, world):
    client.force_login(world.coordinator1)
    response = client.post(reverse("diary:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_participants_keep_their_diary(client, world):
    client.force_login(world.participant_a.user)
    assert client.get(reverse("diary:home")).status_code == 200


def test_staff_credentials_at_the_diary_login_are_still_refused(client, world):
    response = client.post(
        reverse("diary:login"), {"username": "coordinator1", "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, as for a wrong password
    assert "_auth_user_id" not in client.session


def test_the_admin_has_no_view_site_link_into_the_diary(client, world):
    """Staff have no diary: "View site" would only lead back to the admin."""
    assert admin.site.site_url is None
    client.force_login(world.coordinator1)
    page = client.get(reverse("admin:index")).content.decode()
    assert "View site" not in page
