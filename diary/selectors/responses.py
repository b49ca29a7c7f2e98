"""A response as staff read it: each question's label and the answer's label, in the order the
participant was asked, in the wording she answered (demo or licensed).

Selectors read and never write. Nothing here is derived from the allocation."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from diary.models import Response
from scoring.definitions import Instrument, InstrumentNotFound
from scoring.selectors import instrument_answered


@dataclass(frozen=True)
class AnswerRead:
    key: str  # the variable, as in exports (ehp30_q03)
    number: str  # the item's number on her screen ("3"); "" for a gate or a VAS
    question: str
    answer: str  # "2 Sometimes", "63 mm", "not answered"
    answered: bool


@dataclass(frozen=True)
class ResponseRead:
    title: str
    stem: str
    demo: bool  # labels written by us, not the licensed wording
    answers: tuple[AnswerRead, ...]
    language: str = "en"  # of the instrument's wording (the EHP-30's demo labels are English)


def _unknown(key: str, code: object) -> AnswerRead:
    """A stored variable the instrument does not define: shown under its own name."""
    return AnswerRead(
        key, "", key, _("not answered") if code is None else str(code), code is not None
    )


def _answer(instrument: Instrument, key: str, code: object, number: int) -> AnswerRead:
    item = instrument.item(key)
    if code is None:
        answer = _("not answered")
    elif item.kind == "integer":
        answer = f"{code} {item.unit}" if item.unit else str(code)
    else:
        labels = {c.value: c.label for c in item.codes}
        answer = f"{code} {labels[code]}" if code in labels else str(code)
    # Numbered as on her screen: counted within the instrument, gates counted but not shown.
    shown = "" if item.kind == "gate" else str(number)
    return AnswerRead(key, shown, item.label, answer, code is not None)


def response_read(*, response: Response) -> ResponseRead:
    """The response's answers labelled, in the order she was asked them (stored variables the
    instrument does not define come last, under their own names)."""
    answers = response.answers
    try:
        instrument = instrument_answered(
            key=response.instrument_key,
            version=response.instrument_version,
            content_hash=response.instrument_hash,
        )
    except InstrumentNotFound:
        return ResponseRead(
            response.instrument_key, "", False, tuple(_unknown(k, v) for k, v in answers.items())
        )
    asked = [
        key
        for key in instrument.item_keys([module.key for module in instrument.modules])
        if key in answers
    ]
    rows = [_answer(instrument, key, answers[key], n) for n, key in enumerate(asked, start=1)]
    rows += [_unknown(key, answers[key]) for key in answers if key not in set(asked)]
    return ResponseRead(
        title=instrument.title,
        stem=instrument.stem,
        demo=instrument.demo,
        answers=tuple(rows),
        language=instrument.language,
    )
