"""A response as staff read it: each question's label and the answer's label, in the wording
she answered (demo or licensed), never the bare variable and code."""

from __future__ import annotations

import pytest

from diary.models import Response
from diary.selectors.responses import response_read
from tests.diary.test_licensed_wording import danish_wording  # noqa: F401 - a fixture
from tests.scoring.submitting import EHP30, ehp30_answers, submit

pytestmark = pytest.mark.django_db


def test_demo_wording_labels_questions_and_answers(world):
    answers = ehp30_answers()
    answers["ehp30_q03"] = None
    answers["ehp30_q01"] = 4
    responses = submit(world.participant_a, ehp30=answers, vas=40)
    read = response_read(response=responses["ehp30"])
    assert read.demo is True
    assert read.stem == EHP30.stem
    first, _, third = read.answers[:3]
    assert (first.key, first.number, first.question, first.answer) == (
        "ehp30_q01",
        "1",
        EHP30.item("ehp30_q01").label,
        "4 Always",
    )
    assert (third.question, third.answer, third.answered) == (
        EHP30.item("ehp30_q03").label,
        "not answered",
        False,
    )
    assert [a.key for a in read.answers] == list(EHP30.item_keys())
    (vas,) = response_read(response=responses["vas_dysmenorrhea"]).answers
    assert (vas.question, vas.answer) == (
        "How bad was your period pain during your last period?",
        "40 mm",
    )


def test_licensed_wording_is_the_one_she_answered(danish_wording):  # noqa: F811
    ehp30 = submit(danish_wording.participant_a)["ehp30"]
    read = response_read(response=ehp30)
    assert read.demo is False
    assert read.stem == "Licensed stem"
    assert read.answers[0].question == "Licensed ehp30_q01"
    assert read.answers[0].answer == "2 Licensed code 2"
    # Her neighbour, who reads English, answered the demo labels, and reads them back.
    other = response_read(response=submit(danish_wording.participant_b)["ehp30"])
    assert other.demo is True


def test_a_variable_the_instrument_does_not_define_is_shown_under_its_name(world):
    ehp30 = submit(world.participant_a)["ehp30"]
    stored = Response(
        assessment=ehp30.assessment,
        instrument_key="ehp30",
        instrument_version="1.0",
        instrument_hash=ehp30.instrument_hash,
        answers={"ehp30_q01": 1, "legacy_item": 3},
    )
    read = response_read(response=stored)
    assert [(a.key, a.question, a.answer) for a in read.answers][-1] == (
        "legacy_item",
        "legacy_item",
        "3",
    )
