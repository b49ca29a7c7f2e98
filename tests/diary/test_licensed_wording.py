"""Licensed wording loaded for her language is what she reads, and what her response records."""

import pytest
from django.urls import reverse

from scoring.models import Score
from scoring.selectors import instrument_for
from scoring.services import scoring_sweep
from tests.scoring.submitting import assessment_open, ehp30_answers, submit
from tests.scoring.test_load_instrument_text import load, wording_toml

pytestmark = pytest.mark.django_db


@pytest.fixture
def danish_wording(world, tmp_path):
    path = tmp_path / "ehp30-da.toml"
    path.write_text(wording_toml(language="da"))
    load(path, "--version", "1.0-da-lic", "--language", "da")
    participant = world.participant_a
    participant.language = "da"
    participant.save(update_fields=["language"])
    return world


def test_a_danish_participant_reads_the_licensed_danish_wording(client, danish_wording):
    assessment = assessment_open(danish_wording.participant_a)
    client.force_login(danish_wording.participant_a.user)
    page = client.get(reverse("diary:questionnaire_page", args=[assessment.pk, 1]))
    assert page.status_code == 200
    assert "Licensed ehp30_q01" in page.content.decode()
    assert "[Demo]" not in page.content.decode()


def test_an_english_participant_still_reads_the_structure_labels(client, danish_wording):
    assessment = assessment_open(danish_wording.participant_b)
    client.force_login(danish_wording.participant_b.user)
    page = client.get(reverse("diary:questionnaire_page", args=[assessment.pk, 1]))
    assert "[Demo]" in page.content.decode()


def test_her_response_records_the_licensed_version_and_is_scored_by_its_structure(danish_wording):
    ehp30 = submit(danish_wording.participant_a, ehp30=ehp30_answers(pain=[4] * 11))["ehp30"]
    licensed = instrument_for(key="ehp30", language="da")
    assert (ehp30.instrument_version, ehp30.instrument_hash) == (
        "1.0-da-lic",
        licensed.content_hash,
    )
    scoring_sweep()
    assert Score.objects.get(response=ehp30, scale="pain").value == 100
