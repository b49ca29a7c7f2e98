"""Bad input on the questionnaire: page saves, the background (fetch) save, the VAS, review/submit.

Each property posts malformed, out-of-range, oversized or foreign payloads and checks: no server
error, a message that says what was wrong, and nothing stored from what was refused. See
tests/bad_input.py for how examples are isolated.
"""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from diary.models import Assessment, ResponseDraft
from diary.services.drafts import draft_save
from tests.bad_input import (
    BOUNDED,
    FEW,
    example_isolated,
    junk_text,
    snapshot,
    text_of,
)
from tests.diary.journey import open_assessment

pytestmark = pytest.mark.django_db

VAS_PAGE = 6  # the world study: five EHP-30 core pages, then the VAS
AUTOSAVE = {"X-Autosave": "1"}


def page_url(assessment, number: int) -> str:
    return reverse("diary:questionnaire_page", args=[assessment.pk, number])


def review_url(assessment) -> str:
    return reverse("diary:questionnaire_review", args=[assessment.pk])


def draft_of(assessment) -> dict:
    return ResponseDraft.objects.get(assessment=assessment).answers


def accepted_code(raw: str, low: int, high: int) -> bool:
    """What a page save may accept: plain ASCII digits naming an allowed code, nothing else."""
    text = raw.strip()
    return re.fullmatch(r"[0-9]{1,9}", text) is not None and low <= int(text) <= high


def assessment_with_draft(participant) -> Assessment:
    """The participant's open questionnaire with a draft: q01 = 3 (page 1), q12 = 1 (page 2)."""
    assessment = open_assessment(participant)
    draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={"ehp30_q01": 3, "ehp30_q12": 1},
        actor=participant.user,
    )
    return assessment


@pytest.fixture
def assessment(world):
    return assessment_with_draft(world.participant_a)


@pytest.fixture
def client_a(client, world):
    client.force_login(world.participant_a.user)
    return client


# ---- page saves: bad codes -----------------------------------------------------------------------


@BOUNDED
@given(raw=junk_text(), autosave=st.booleans())
def test_a_page_save_refuses_anything_but_a_valid_code_and_keeps_the_saved_answer(
    client_a, assessment, raw, autosave
):
    with example_isolated():
        before = snapshot()
        response = client_a.post(
            page_url(assessment, 1),
            {"ehp30_q01": raw, "nav": "next"},
            headers=AUTOSAVE if autosave else {},
        )
        assert response.status_code < 500
        if raw.strip() == "" or accepted_code(raw, 0, 4):
            expected = None if raw.strip() == "" else int(raw.strip())
            assert response.status_code in (200, 302)
            assert draft_of(assessment)["ehp30"]["ehp30_q01"] == expected
            return
        assert response.status_code == 400
        message = " ".join(response.json()["errors"]) if autosave else text_of(response)
        assert "ehp30_q01:" in message
        assert "is not a valid answer; it was not saved" in message
        assert snapshot() == before  # q01 still 3, no DRAFT_SAVED event, no Response


@FEW
@given(
    value=st.one_of(
        st.lists(st.sampled_from(["0", "4", "7", "x", ""]), min_size=2, max_size=5),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3).map(json.dumps),
        st.sampled_from(["[3]", "{}", '{"ehp30_q01": 3}']),
    )
)
def test_lists_and_json_objects_as_a_code_never_store_anything_but_a_valid_code(
    client_a, assessment, value
):
    """A repeated field counts by its last value, as everywhere in Django; JSON text is refused."""
    with example_isolated():
        response = client_a.post(page_url(assessment, 1), {"ehp30_q01": value, "nav": "next"})
        assert response.status_code < 500
        stored = draft_of(assessment)["ehp30"]["ehp30_q01"]
        last = value[-1] if isinstance(value, list) else value
        if last == "" or accepted_code(last, 0, 4):
            assert stored == (int(last) if last else None)
        else:
            assert response.status_code == 400
            assert "is not a valid answer" in text_of(response)
            assert stored == 3


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("5", "5"), ("-1", "-1"), ("99999", "99999"), ("2.5", "'2.5'"), ("abc", "'abc'")],
)
def test_a_bad_code_message_names_the_question_the_value_and_what_is_expected(
    client_a, assessment, raw, shown
):
    response = client_a.post(page_url(assessment, 1), {"ehp30_q01": raw, "nav": "next"})
    assert response.status_code == 400
    text = text_of(response)
    assert "Some answers could not be saved:" in text
    assert f"ehp30_q01: {shown} is not a valid answer; it was not saved" in text
    assert "Please choose one of the answer options." in text
    assert draft_of(assessment)["ehp30"]["ehp30_q01"] == 3


@pytest.mark.parametrize("raw", ["\u0663", "\uff13", "\U0001d7d1", "+3", "1_0", " 3\x00"])
def test_look_alike_digits_are_refused_not_read_as_numbers(client_a, assessment, raw):
    """Regression: int() read Arabic-Indic or fullwidth digits, '+3' and '1_0' as numbers; the
    spec says anything but an allowed code is refused at input, never coerced."""
    response = client_a.post(page_url(assessment, 1), {"ehp30_q01": raw, "nav": "next"})
    assert response.status_code == 400
    assert "is not a valid answer; it was not saved" in text_of(response)
    assert draft_of(assessment)["ehp30"]["ehp30_q01"] == 3


@BOUNDED
@given(
    extra=st.dictionaries(
        st.one_of(
            st.sampled_from(["ehp30_q31", "ehp30_q00", "ehp30_work_q1", "vas_dysmenorrhea"]),
            st.sampled_from(["ehp30_q12", "ehp30_q30", "answers", "instrument_key"]),
            st.text(min_size=1, max_size=30),
        ),
        junk_text(max_size=20),
        min_size=1,
        max_size=5,
    )
)
def test_unknown_or_other_page_keys_are_ignored(client_a, assessment, extra):
    """Only the page's own questions are read: other keys change nothing of the draft."""
    extra.pop("ehp30_q01", None)
    extra.pop("clear", None)
    extra.pop("nav", None)
    with example_isolated():
        response = client_a.post(page_url(assessment, 1), {**extra, "ehp30_q01": "3"})
        assert response.status_code == 302
        answers = draft_of(assessment)["ehp30"]
        assert answers["ehp30_q01"] == 3
        assert answers["ehp30_q12"] == 1  # page 2, untouched
        assert set(draft_of(assessment)) <= {"ehp30"}
        assert set(answers) <= {f"ehp30_q{n:02d}" for n in range(1, 31)}


def test_missing_keys_leave_the_pages_questions_unanswered_and_other_pages_untouched(
    client_a, assessment
):
    """A form only sends the answers given (radio buttons): a missing key is 'not answered'."""
    response = client_a.post(page_url(assessment, 1), {"nav": "next"})
    assert response.status_code == 302
    answers = draft_of(assessment)["ehp30"]
    assert answers["ehp30_q01"] is None
    assert answers["ehp30_q12"] == 1


@FEW
@given(clear=junk_text(max_size=60), nav=junk_text(max_size=20))
def test_junk_clear_and_nav_values_never_fail_and_clear_nothing_else(
    client_a, assessment, clear, nav
):
    with example_isolated():
        response = client_a.post(
            page_url(assessment, 1), {"ehp30_q01": "3", "clear": clear, "nav": nav}
        )
        assert response.status_code == 302
        assert ("#item-" in response["Location"]) == (clear == "ehp30_q01")
        answers = draft_of(assessment)["ehp30"]
        assert answers["ehp30_q01"] == (None if clear == "ehp30_q01" else 3)
        assert answers["ehp30_q12"] == 1


def test_a_huge_clear_value_moves_on_instead_of_failing_after_saving(client_a, assessment):
    """Regression: 'clear' was echoed into the redirect; over 16,384 characters Django refused
    the redirect (400, 'nothing was saved') although the page's answers had been saved."""
    response = client_a.post(
        page_url(assessment, 1), {"ehp30_q01": "4", "clear": "x" * 20_000, "nav": "next"}
    )
    assert response.status_code == 302
    assert response["Location"] == page_url(assessment, 2)
    assert draft_of(assessment)["ehp30"]["ehp30_q01"] == 4


# ---- modules: an item of a module that does not apply --------------------------------------------


@pytest.fixture
def module_assessment(world):
    world.study.instrument_modules = {"ehp30": ["ehp30_work"]}
    world.study.save(update_fields=["instrument_modules"])
    return open_assessment(world.participant_a)


def module_page(assessment) -> int:
    from diary.selectors.questionnaire import questionnaire_steps

    steps = questionnaire_steps(study=assessment.participant.study, language="en")
    return next(s.index for s in steps if "ehp30_work_q1" in s.page.item_keys)


@FEW
@given(code=st.sampled_from(["0", "1", "2", "3", "4"]), autosave=st.booleans())
def test_a_module_item_is_not_kept_when_the_gate_says_the_module_does_not_apply(
    client_a, module_assessment, code, autosave
):
    number = module_page(module_assessment)
    with example_isolated():
        response = client_a.post(
            page_url(module_assessment, number),
            {"ehp30_work_applies": "0", "ehp30_work_q1": code, "ehp30_work_q2": code},
            headers=AUTOSAVE if autosave else {},
        )
        assert response.status_code == 400
        message = " ".join(response.json()["errors"]) if autosave else text_of(response)
        assert "ehp30_work_q1: not kept, because you answered that this part does not apply" in (
            message
        )
        answers = draft_of(module_assessment)["ehp30"]
        assert answers["ehp30_work_applies"] == 0
        assert answers["ehp30_work_q1"] is None and answers["ehp30_work_q2"] is None


@FEW
@given(gate=junk_text(max_size=20))
def test_a_gate_accepts_only_no_or_yes(client_a, module_assessment, gate):
    number = module_page(module_assessment)
    with example_isolated():
        before = snapshot()
        response = client_a.post(page_url(module_assessment, number), {"ehp30_work_applies": gate})
        assert response.status_code < 500
        if gate.strip() == "" or accepted_code(gate, 0, 1):
            return
        assert response.status_code == 400
        assert "ehp30_work_applies:" in text_of(response)
        # Only the page's blank answers (None) may have been written, never the refused gate.
        answers = draft_of(module_assessment).get("ehp30", {})
        assert answers.get("ehp30_work_applies") is None
        assert before["responses"] == snapshot()["responses"]


# ---- foreign ids ---------------------------------------------------------------------------------


@pytest.fixture
def other_assessment(world):
    """Participant B's open questionnaire with one saved answer."""
    assessment = open_assessment(world.participant_b)
    from diary.services.drafts import draft_save

    draft_save(
        assessment=assessment,
        instrument_key="ehp30",
        answers={"ehp30_q01": 0},
        actor=world.participant_b.user,
    )
    return assessment


@FEW
@given(
    target=st.sampled_from(["page", "page_vas", "review", "questionnaire", "done"]),
    payload=st.dictionaries(
        st.sampled_from(["ehp30_q01", "vas_dysmenorrhea", "confirm_unanswered", "nav"]),
        st.sampled_from(["4", "on", "100", "review"]),
    ),
    autosave=st.booleans(),
)
def test_another_participants_questionnaire_is_a_404_and_stays_untouched(
    client_a, assessment, other_assessment, target, payload, autosave
):
    url = {
        "page": page_url(other_assessment, 1),
        "page_vas": page_url(other_assessment, VAS_PAGE),
        "review": review_url(other_assessment),
        "questionnaire": reverse("diary:questionnaire", args=[other_assessment.pk]),
        "done": reverse("diary:questionnaire_done", args=[other_assessment.pk]),
    }[target]
    with example_isolated():
        before = snapshot()
        response = client_a.post(url, payload, headers=AUTOSAVE if autosave else {})
        assert response.status_code in (404, 405)  # questionnaire and done are GET-only
        assert client_a.get(url).status_code == 404
        assert snapshot() == before
        assert draft_of(other_assessment)["ehp30"]["ehp30_q01"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/diary/questionnaire/{pk}/page/0/",
        "/diary/questionnaire/{pk}/page/7/",
        "/diary/questionnaire/{pk}/page/99999999999999999999999/",
        "/diary/questionnaire/99999999999999999999999/page/1/",
        "/diary/questionnaire/9223372036854775808/review/",
        "/diary/questionnaire/0/review/",
    ],
)
def test_out_of_range_ids_and_page_numbers_are_404s(client_a, assessment, path):
    before = snapshot()
    url = path.format(pk=assessment.pk)
    response = client_a.post(url, {"ehp30_q01": "4", "confirm_unanswered": "on"})
    assert response.status_code == 404
    assert client_a.get(url).status_code == 404
    assert snapshot() == before


# ---- the background (fetch) save -----------------------------------------------------------------


@FEW
@given(
    body=st.one_of(
        st.sampled_from(['{"ehp30_q01": 4}', "{", "[]", "null", "ehp30_q01=4", "", "\x00"]),
        st.binary(max_size=200),
    ),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/octet-stream", "text/xml"]
    ),
)
def test_a_background_save_that_is_not_form_data_is_refused_and_changes_nothing(
    client_a, assessment, body, content_type
):
    """Regression: a JSON (or any non-form) body read as an empty form wiped the page's answers."""
    with example_isolated():
        before = snapshot()
        response = client_a.post(
            page_url(assessment, 1), body, content_type=content_type, headers=AUTOSAVE
        )
        assert response.status_code == 400
        assert response.json() == {
            "saved": False,
            "errors": ["Your answers could not be read, so nothing was saved. Please try again."],
        }
        assert snapshot() == before


def test_a_page_posted_as_json_without_javascript_header_is_refused_too(client_a, assessment):
    before = snapshot()
    response = client_a.post(
        page_url(assessment, 1), {"ehp30_q01": 4}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "Your answers could not be read, so nothing was saved." in text_of(response)
    assert snapshot() == before


def test_a_malformed_multipart_body_is_a_400_and_changes_nothing(client_a, assessment):
    before = snapshot()
    response = client_a.post(
        page_url(assessment, 1),
        b'--x\r\nContent-Disposition: form-data; name="ehp30_q01"\r\n\r\n4',
        content_type="multipart/form-data; boundary=",  # no boundary
        headers=AUTOSAVE,
    )
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize("autosave", [True, False])
@pytest.mark.parametrize("extra", [-1024, 0, 1024])
def test_bodies_around_the_upload_limit_never_store_the_oversized_value(
    client_a, assessment, autosave, extra
):
    limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # x-www-form-urlencoded: the whole body counts against DATA_UPLOAD_MAX_MEMORY_SIZE.
    prefix = "nav=next&ehp30_q02=2&ehp30_q01="
    body = prefix + "9" * (limit + extra - len(prefix))
    before = snapshot()
    response = client_a.post(
        page_url(assessment, 1),
        body,
        content_type="application/x-www-form-urlencoded",
        headers=AUTOSAVE if autosave else {},
    )
    assert response.status_code == 400
    answers = draft_of(assessment)["ehp30"]
    assert answers["ehp30_q01"] == 3
    if extra > 0:
        assert snapshot() == before  # refused as a whole: not even q02 is saved
        assert "too large" in text_of(response)
    else:
        assert answers["ehp30_q02"] == 2  # the other answer of the page is kept
        message = " ".join(response.json()["errors"]) if autosave else text_of(response)
        assert "ehp30_q01: '99999999" in message
        assert len(response.content) < 100_000  # the refused value is not echoed back


def test_too_many_fields_is_a_400_and_changes_nothing(client_a, assessment):
    before = snapshot()
    data = {f"f{n}": "1" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client_a.post(page_url(assessment, 1), {**data, "ehp30_q01": "4"})
    assert response.status_code == 400
    assert snapshot() == before
