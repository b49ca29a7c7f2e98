"""Which instruments and modules a study collects: one selector, one per-instrument setting."""

import pytest
from django.core.exceptions import ValidationError

from diary.selectors.questionnaire import (
    instruments_collected,
    modules_collected,
    questionnaire_steps,
)
from tests.conftest import make_study

pytestmark = pytest.mark.django_db


def test_each_instrument_collects_only_the_modules_named_for_it():
    study = make_study(instrument_modules={"ehp30": ["ehp30_sex", "ehp30_work"]})
    collected = instruments_collected(study=study)
    assert [(i.key, m) for i, m in collected] == [
        ("ehp30", ("ehp30_sex", "ehp30_work")),
        ("vas_dysmenorrhea", ()),
    ]
    assert modules_collected(study=study, instrument_key="vas_dysmenorrhea") == ()


def test_the_questionnaire_pages_follow_the_setting():
    core = make_study("CORE")
    work = make_study("WORK", instrument_modules={"ehp30": ["ehp30_work"]})
    pages = {s.page.key for s in questionnaire_steps(study=work, language="en")}
    assert len(questionnaire_steps(study=work, language="en")) == (
        len(questionnaire_steps(study=core, language="en")) + 1
    )
    assert "ehp30_work" in pages


def test_an_instrument_without_modules_cannot_be_given_any():
    study = make_study(instrument_modules={"vas_dysmenorrhea": ["ehp30_work"]})
    with pytest.raises(ValidationError) as raised:
        study.full_clean()
    assert raised.value.message_dict["instrument_modules"] == [
        "vas_dysmenorrhea has no module ehp30_work; its modules are: none."
    ]
