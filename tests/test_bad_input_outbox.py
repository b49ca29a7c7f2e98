"""Bad input through the offline outbox: an entry edited on the device, or kept from another
account, is refused whole, nothing is stored, and her own saved answers stay as they were.

An outbox entry (diary/static/diary/offline.js) is a background save of one answer: the page's
draft endpoint with X-Autosave, `outbox_item` naming the question, its value, and the device's
clock as `device_time` (milliseconds since 1970).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from diary.models import AuditAction, AuditEvent, ResponseDraft
from diary.services.drafts import draft_save
from tests.bad_input import BOUNDED, example_isolated, snapshot
from tests.diary.journey import open_assessment

pytestmark = pytest.mark.django_db

AUTOSAVE = {"X-Autosave": "1"}


def page_url(assessment, number: int) -> str:
    return reverse("diary:questionnaire_page", args=[assessment.pk, number])


def now_ms(offset: timedelta = timedelta(0)) -> str:
    return str(int((timezone.now() + offset).timestamp() * 1000))


def entry(item: str, value: str, device_time: str | None = None) -> dict[str, str]:
    return {"outbox_item": item, item: value, "device_time": device_time or now_ms()}


@pytest.fixture
def assessment(world):
    """Her open questionnaire with q01 = 3 already saved (page 1)."""
    assessment = open_assessment(world.participant_a)
    draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={"ehp30_q01": 3},
        actor=world.participant_a.user,
    )
    return assessment


@pytest.fixture
def client_a(client, world):
    client.force_login(world.participant_a.user)
    return client


def ehp30(assessment) -> dict:
    return ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]


def test_an_entry_is_stored_once_however_often_it_is_sent(client_a, assessment):
    for _ in range(3):
        response = client_a.post(page_url(assessment, 1), entry("ehp30_q02", "4"), headers=AUTOSAVE)
        assert response.status_code == 200
        assert response.json() == {"saved": True, "errors": []}
    answers = ehp30(assessment)
    assert answers["ehp30_q02"] == 4
    assert answers["ehp30_q01"] == 3  # the entry touches its own question only
    saves = AuditEvent.objects.filter(action=AuditAction.DRAFT_SAVED, object_id=str(assessment.pk))
    assert [e.details["variables"] for e in saves.order_by("pk")] == [["ehp30_q01"], ["ehp30_q02"]]


def test_an_entry_for_another_participants_questionnaire_is_refused(client, world, assessment):
    theirs = open_assessment(world.participant_b)
    client.force_login(world.participant_b.user)
    before = snapshot()
    # B's device replays an entry of A's questionnaire (or A's entry was edited to B's).
    response = client.post(page_url(assessment, 1), entry("ehp30_q01", "0"), headers=AUTOSAVE)
    assert response.status_code == 404
    assert snapshot() == before
    assert ehp30(assessment)["ehp30_q01"] == 3
    assert not ResponseDraft.objects.filter(assessment=theirs).exists()


@pytest.mark.parametrize(
    "item",
    [
        "ehp30_q12",  # a question of another page
        "ehp30_q99",  # no such question
        "vas_dysmenorrhea",  # another instrument's
        "nav",
        "",
    ],
)
def test_an_entry_naming_a_question_not_on_its_page_is_refused(client_a, assessment, item):
    before = snapshot()
    data = {"outbox_item": item, item or "x": "2", "ehp30_q01": "0", "device_time": now_ms()}
    response = client_a.post(page_url(assessment, 1), data, headers=AUTOSAVE)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "This answer is not for a question of this page, so nothing was saved."
    ]
    assert snapshot() == before  # q01 still 3, nothing else stored, no event


@pytest.mark.parametrize(
    "device_time",
    [
        now_ms(timedelta(days=2)),  # far future
        now_ms(timedelta(days=400 * 30)),
        "0",  # 1970
        now_ms(-timedelta(days=30)),  # long before the questionnaire opened
        "abc",
        "1.7e12",
        "-1",
        "\uff11\uff17" + "\uff10" * 10,  # fullwidth digits
        "99999999999999999999999",
    ],
)
def test_an_entry_with_an_impossible_device_time_is_refused(client_a, assessment, device_time):
    before = snapshot()
    data = entry("ehp30_q01", "0", device_time)
    response = client_a.post(page_url(assessment, 1), data, headers=AUTOSAVE)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "The time your device sent with these answers is not possible, so nothing was saved."
    ]
    assert snapshot() == before
    assert ehp30(assessment)["ehp30_q01"] == 3


def test_a_page_submitted_without_javascript_with_a_bad_device_time_shows_the_page(
    client_a, assessment
):
    before = snapshot()
    response = client_a.post(
        page_url(assessment, 1), {"ehp30_q01": "1", "device_time": "soon", "nav": "next"}
    )
    assert response.status_code == 400
    assert "is not possible, so nothing was saved" in response.content.decode()
    assert snapshot() == before


@BOUNDED
@given(device_time=st.text(max_size=30))
def test_no_device_time_text_causes_a_server_error_or_a_partial_save(
    client_a, assessment, device_time
):
    with example_isolated():
        before = snapshot()
        data = entry("ehp30_q01", "0", device_time or "x")
        response = client_a.post(page_url(assessment, 1), data, headers=AUTOSAVE)
        assert response.status_code in (200, 400)
        if response.status_code == 400:
            assert snapshot() == before
