"""Submitting after the window closed, in the browser without JavaScript: kept, and she is told."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diary.models import LateEntry, Response
from tests.diary.journey import open_assessment, window_close
from tests.diary.views.test_questionnaire import fill_ehp30

pytestmark = pytest.mark.django_db


def test_answers_sent_after_the_close_are_kept_for_the_study_team(client, world):
    assessment = open_assessment(world.participant_a)
    client.force_login(world.participant_a.user)
    fill_ehp30(client, assessment)
    window_close(assessment)
    url = reverse("diary:questionnaire_review", args=[assessment.pk])
    response = client.post(url, {"confirm_unanswered": "on", "device_time": ""})
    assert response.status_code == 202
    text = response.content.decode()
    assert "The window for this questionnaire has closed." in text
    assert "They are kept, not lost" in text
    entry = LateEntry.objects.get(assessment=assessment)
    assert entry.reason == "no_draft_in_window"  # window_close moved it before her draft
    assert not Response.objects.exists()
    again = client.post(url, {"confirm_unanswered": "on"})
    assert again.status_code == 202
    assert LateEntry.objects.count() == 1


@pytest.mark.parametrize("device_time", ["later", "99999999999999", "0"])
def test_a_submission_with_an_impossible_device_time_is_refused(client, world, device_time):
    assessment = open_assessment(world.participant_a)
    client.force_login(world.participant_a.user)
    fill_ehp30(client, assessment)
    url = reverse("diary:questionnaire_review", args=[assessment.pk])
    response = client.post(url, {"confirm_unanswered": "on", "device_time": device_time})
    assert response.status_code == 400
    assert "is not possible, so nothing was saved" in response.content.decode()
    assert not Response.objects.exists() and not LateEntry.objects.exists()
