"""Bad input on the VAS (values and capture details) and on review/submit (replays, missing
confirmation), plus refusals after the window closed and in Danish.

Split from tests/test_bad_input_questionnaire.py, whose helpers and fixtures it shares. See
tests/bad_input.py for how examples are isolated.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from diary.models import AssessmentStatus, AuditAction, AuditEvent, Response, ResponseDraft
from tests.bad_input import (
    BOUNDED,
    FEW,
    example_isolated,
    huge_text,
    junk_text,
    snapshot,
    text_of,
)
from tests.diary.journey import window_close
from tests.test_bad_input_questionnaire import (
    AUTOSAVE,
    VAS_PAGE,
    accepted_code,
    assessment_with_draft,
    draft_of,
    page_url,
    review_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(world):
    """Participant A's open questionnaire with a draft: q01 = 3 (page 1), q12 = 1 (page 2)."""
    return assessment_with_draft(world.participant_a)


@pytest.fixture
def client_a(client, world):
    client.force_login(world.participant_a.user)
    return client


# ---- the VAS -------------------------------------------------------------------------------------


@BOUNDED
@given(
    raw=st.one_of(
        st.sampled_from(
            ["-1", "101", "50.5", "fifty", "", " ", "1e2", "100.0", "0x10", "\u0665\u0660"]
        ),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.floats().map(str),
        junk_text(max_size=30),
    ),
    autosave=st.booleans(),
)
def test_the_vas_refuses_anything_but_a_whole_number_0_to_100(client_a, assessment, raw, autosave):
    with example_isolated():
        client_a.post(page_url(assessment, VAS_PAGE), {"vas_dysmenorrhea": "40"})
        before = snapshot()
        response = client_a.post(
            page_url(assessment, VAS_PAGE),
            {
                "vas_dysmenorrhea": raw,
                "meta_viewport_width": "360",
                "meta_device_pixel_ratio": "2",
                "nav": "next",
            },
            headers=AUTOSAVE if autosave else {},
        )
        assert response.status_code < 500
        stored = draft_of(assessment)["vas_dysmenorrhea"]["vas_dysmenorrhea"]
        if raw.strip() == "":
            assert stored is None  # an untouched or cleared line is "not answered", never 50
            return
        if accepted_code(raw, 0, 100):
            assert stored == int(raw.strip())
            return
        assert response.status_code == 400
        message = " ".join(response.json()["errors"]) if autosave else text_of(response)
        assert "vas_dysmenorrhea:" in message
        assert "Please give a whole number from 0 to 100." in message
        assert snapshot() == before  # 40 and its capture details kept as they were


@pytest.mark.parametrize(
    ("raw", "shown"), [("-1", "-1"), ("101", "101"), ("50.5", "'50.5'"), ("fifty", "'fifty'")]
)
def test_a_bad_vas_value_says_what_is_expected(client_a, assessment, raw, shown):
    response = client_a.post(page_url(assessment, VAS_PAGE), {"vas_dysmenorrhea": raw})
    assert response.status_code == 400
    text = text_of(response)
    assert f"vas_dysmenorrhea: {shown} is not a valid answer; it was not saved" in text
    assert "Please give a whole number from 0 to 100." in text
    assert draft_of(assessment).get("vas_dysmenorrhea", {}).get("vas_dysmenorrhea") is None
    assert not ResponseDraft.objects.get(assessment=assessment).metadata.get("vas_dysmenorrhea")


@BOUNDED
@given(
    width=st.one_of(junk_text(max_size=50), st.integers().map(str)),
    ratio=st.one_of(junk_text(max_size=50), st.floats().map(str)),
    answered_at=st.one_of(
        junk_text(max_size=50),
        st.datetimes().map(lambda d: d.isoformat()),
        # Aware times anywhere in the calendar, at its edges too, in any offset.
        st.datetimes(
            timezones=st.sampled_from(
                [UTC, *(timezone.get_fixed_timezone(h * 60) for h in (-14, 14))]
            )
        ).map(lambda d: d.isoformat()),
        st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)).map(
            lambda d: (timezone.now() + d).isoformat()
        ),
    ),
    how=junk_text(max_size=20),
)
def test_odd_vas_capture_details_never_fail_and_only_plausible_ones_are_stored(
    client_a, assessment, width, ratio, answered_at, how
):
    with example_isolated():
        response = client_a.post(
            page_url(assessment, VAS_PAGE),
            {
                "vas_dysmenorrhea": "63",
                "meta_viewport_width": width,
                "meta_device_pixel_ratio": ratio,
                "meta_client_answered_at": answered_at,
                "meta_input": how,
            },
        )
        # The answer itself is the participant's: odd details from the browser never block it.
        assert response.status_code == 302
        draft = ResponseDraft.objects.get(assessment=assessment)
        assert draft.answers["vas_dysmenorrhea"]["vas_dysmenorrhea"] == 63
        metadata = draft.metadata["vas_dysmenorrhea"]
        assert "server_saved_at" in metadata
        if "viewport_width" in metadata:
            assert metadata["viewport_width"] == width.strip()
            assert 1 <= int(metadata["viewport_width"]) <= 100_000
        if "device_pixel_ratio" in metadata:
            assert metadata["device_pixel_ratio"] == ratio.strip()
            assert 0 < float(metadata["device_pixel_ratio"]) <= 20
        if "input" in metadata:
            assert metadata["input"] in {"pointer", "keyboard"}
        if "client_answered_at" in metadata:
            assert metadata["client_answered_at"] == answered_at.strip()
            # Only a time near the server's clock is kept as when she answered.
            claimed = datetime.fromisoformat(metadata["client_answered_at"])
            saved = datetime.fromisoformat(metadata["server_saved_at"])
            assert saved - timedelta(hours=24) <= claimed <= saved + timedelta(minutes=10)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("viewport_width", "99999999999999999999"),
        ("viewport_width", "-360"),
        ("viewport_width", "0"),
        ("viewport_width", "wide"),
        ("device_pixel_ratio", "abc"),
        ("device_pixel_ratio", "NaN"),
        ("device_pixel_ratio", "inf"),
        ("device_pixel_ratio", "0"),
        ("client_answered_at", "yesterday"),
        ("input", "robot"),
    ],
)
def test_implausible_vas_capture_details_are_dropped_and_the_answer_kept(
    client_a, assessment, field, value
):
    """Regression: any 1-40 character 'safe' text was stored, e.g. 'abc' as the pixel ratio."""
    good = {
        "viewport_width": "360",
        "device_pixel_ratio": "2.625",
        "client_answered_at": timezone.now().isoformat(),
        "input": "pointer",
    }
    posted = {f"meta_{name}": value if name == field else v for name, v in good.items()}
    response = client_a.post(page_url(assessment, VAS_PAGE), {"vas_dysmenorrhea": "63", **posted})
    assert response.status_code == 302
    metadata = ResponseDraft.objects.get(assessment=assessment).metadata["vas_dysmenorrhea"]
    assert field not in metadata
    assert {k: v for k, v in metadata.items() if k in good} == {
        k: v for k, v in good.items() if k != field
    }


# ---- review and submit ---------------------------------------------------------------------------


@FEW
@given(confirm=junk_text(max_size=20).filter(lambda v: v != "on"))
def test_submitting_with_unanswered_questions_needs_the_confirmation(client_a, assessment, confirm):
    with example_isolated():
        before = snapshot()
        response = client_a.post(review_url(assessment), {"confirm_unanswered": confirm})
        assert (response.status_code, response.url) == (302, review_url(assessment))
        assert "Please confirm that you want to leave these questions unanswered" in text_of(
            client_a.get(response.url)
        )
        assert snapshot() == before
        assert not Response.objects.exists()


def test_a_replayed_submission_stores_one_response_and_says_so(client_a, assessment):
    first = client_a.post(review_url(assessment), {"confirm_unanswered": "on"})
    assert first.status_code == 302
    before = snapshot()
    for payload in ({"confirm_unanswered": "on"}, {}, {"confirm_unanswered": "\x00" * 100}):
        replay = client_a.post(review_url(assessment), payload, follow=True)
        assert replay.status_code == 200
        assert "This questionnaire has already been submitted." in text_of(replay)
        page = client_a.post(page_url(assessment, 1), {"ehp30_q01": "0"}, headers=AUTOSAVE)
        assert page.status_code == 302
    assert snapshot() == before
    assert Response.objects.filter(assessment=assessment).count() == 2  # one per instrument
    assert AuditEvent.objects.filter(action=AuditAction.SUBMITTED).count() == 1
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED


@FEW
@given(body=huge_text())
def test_a_huge_confirmation_field_is_refused_or_ignored_never_stored(client_a, assessment, body):
    with example_isolated():
        before = snapshot()
        response = client_a.post(review_url(assessment), {"confirm_unanswered": body})
        assert (response.status_code, response.url) == (302, review_url(assessment))
        assert snapshot() == before


def test_a_danish_participant_reads_the_refusal_in_danish(client_a, assessment, world):
    world.participant_a.language = "da"
    world.participant_a.save(update_fields=["language"])
    response = client_a.post(page_url(assessment, VAS_PAGE), {"vas_dysmenorrhea": "101"})
    assert response.status_code == 400
    assert "vas_dysmenorrhea: 101 er ikke et gyldigt svar; det blev ikke gemt" in text_of(response)
    assert "Angiv et helt tal fra 0 til 100." in text_of(response)


@pytest.mark.parametrize("autosave", [True, False])
def test_a_save_after_the_window_closed_is_refused_with_the_reason(client_a, assessment, autosave):
    window_close(assessment)
    before = snapshot()
    response = client_a.post(
        page_url(assessment, 1), {"ehp30_q01": "4"}, headers=AUTOSAVE if autosave else {}
    )
    assert response.status_code == 409
    message = " ".join(response.json()["errors"]) if autosave else text_of(response)
    assert "The window for this questionnaire has closed." in message
    assert snapshot() == before
