"""The coordinator's correction and paper-entry pages in the admin."""

import pytest
from django.urls import reverse
from django.utils import timezone

from diary.models import AssessmentStatus, Response, ResponseSource
from tests.scoring.submitting import assessment_open, submit

pytestmark = pytest.mark.django_db
REASON = "Participant called: wrong VAS mark, she meant 45"


def test_coordinator_corrects_a_vas_answer_and_the_original_stays(client, world):
    vas = submit(world.participant_a, vas=40)["vas_dysmenorrhea"]
    client.force_login(world.coordinator1)
    page = client.get(reverse("admin:diary_participant_change", args=[world.participant_a.pk]))
    correct_url = reverse("admin:response_correct", args=[vas.pk])
    assert correct_url in page.content.decode()
    form = client.get(correct_url)
    assert form.status_code == 200 and 'value="40"' in form.content.decode()
    response = client.post(
        correct_url, {"vas_dysmenorrhea__vas_dysmenorrhea": "45", "reason": REASON}
    )
    assert response.status_code == 302
    corrected = Response.objects.get(supersedes=vas)
    assert corrected.answers == {"vas_dysmenorrhea": 45}
    assert Response.objects.get(pk=vas.pk).answers == {"vas_dysmenorrhea": 40}
    page = client.get(reverse("admin:diary_participant_change", args=[world.participant_a.pk]))
    assert "superseded" in page.content.decode()


def test_out_of_range_value_is_refused_with_a_message_and_nothing_stored(client, world):
    vas = submit(world.participant_a, vas=40)["vas_dysmenorrhea"]
    client.force_login(world.coordinator1)
    response = client.post(
        reverse("admin:response_correct", args=[vas.pk]),
        {"vas_dysmenorrhea__vas_dysmenorrhea": "140", "reason": REASON},
    )
    assert response.status_code == 200
    assert "less than or equal to 100" in response.content.decode()
    assert not Response.objects.filter(supersedes=vas).exists()


def test_monitor_and_other_site_cannot_correct(client, world):
    vas = submit(world.participant_a, vas=40)["vas_dysmenorrhea"]
    url = reverse("admin:response_correct", args=[vas.pk])
    client.force_login(world.monitor)
    page = client.get(reverse("admin:diary_participant_change", args=[world.participant_a.pk]))
    assert url not in page.content.decode()
    posted = client.post(url, {"vas_dysmenorrhea__vas_dysmenorrhea": "45", "reason": REASON})
    assert posted.status_code == 404
    client.force_login(world.coordinator2)
    assert client.get(url).status_code == 404
    assert not Response.objects.filter(supersedes=vas).exists()


def test_coordinator_enters_a_paper_form_completed_in_the_window(client, world):
    assessment = assessment_open(world.participant_a)
    client.force_login(world.coordinator1)
    url = reverse("admin:assessment_transcribe", args=[assessment.pk])
    data = {f"ehp30__ehp30_q{n:02d}": "1" for n in range(1, 31)}
    data.update(
        {
            "vas_dysmenorrhea__vas_dysmenorrhea": "33",
            "completed_on": timezone.now().date().isoformat(),
            "reason": "Paper form brought to the visit",
        }
    )
    assert client.post(url, data).status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED
    sources = set(assessment.responses.values_list("source", flat=True))
    assert sources == {ResponseSource.SITE_TRANSCRIPTION}
