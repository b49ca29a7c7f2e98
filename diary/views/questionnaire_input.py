"""Reading questionnaire pages from a POST and laying answers out for the review screen.

Helpers of the entry views: no writes, no access checks (the views do those).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import QueryDict

from diary.selectors.questionnaire import Step
from scoring.definitions import Item

# Capture details the VAS page sends with an answer (filled in by vas.js).
VAS_METADATA_FIELDS = ("client_answered_at", "viewport_width", "device_pixel_ratio", "input")
_SAFE_META = re.compile(r"^[A-Za-z0-9:.+\-TZ_]{1,40}$")
# A code as a browser sends it: ASCII digits, a minus sign only before a non-zero number. int()
# alone would also read "+3", "1_0" or Arabic-Indic and fullwidth digits as numbers, and the spec
# says anything but an allowed code is refused at input, never coerced.
_CODE = re.compile(r"[0-9]{1,9}|-[1-9][0-9]{0,8}")


def page_answers(step: Step, post: QueryDict) -> dict[str, Any]:
    """variable -> int, None (blank) or the raw text, which draft_save refuses with a message."""
    answers: dict[str, Any] = {}
    for item in step.items:
        raw = post.get(item.key, "").strip()
        if raw == "":
            answers[item.key] = None
        else:
            answers[item.key] = int(raw) if _CODE.fullmatch(raw) else raw
    cleared = post.get("clear", "")
    if cleared in answers:
        answers[cleared] = None
    return answers


def vas_metadata(post: QueryDict, *, now: datetime) -> dict[str, Any]:
    """How the VAS answer was captured; the server's own time is stamped too.

    A detail the browser sent that is not plausible (a width of "wide", a pixel ratio of "abc")
    is left out rather than stored as if it were measured; it never blocks the answer itself.
    """
    metadata: dict[str, Any] = {"server_saved_at": now.isoformat()}
    for name in VAS_METADATA_FIELDS:
        value = post.get(f"meta_{name}", "").strip()
        if _SAFE_META.match(value) and _META_PLAUSIBLE[name](value):
            metadata[name] = value
    return metadata


def _is_width(value: str) -> bool:
    return re.fullmatch(r"[0-9]{1,6}", value) is not None and 1 <= int(value) <= 100_000


def _is_pixel_ratio(value: str) -> bool:
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,20})?", value) is None:
        return False
    ratio = float(value)
    return math.isfinite(ratio) and 0 < ratio <= 20


def _is_timestamp(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


_META_PLAUSIBLE = {
    "client_answered_at": _is_timestamp,
    "viewport_width": _is_width,
    "device_pixel_ratio": _is_pixel_ratio,
    "input": lambda value: value in {"pointer", "keyboard"},
}


@dataclass(frozen=True)
class ReviewRow:
    item: Item
    number: int
    value: int | None
    answer_label: str  # "" when unanswered


def item_numbers(steps: list[Step]) -> dict[str, int]:
    """The number shown before each question, counted within its instrument."""
    numbers: dict[str, int] = {}
    counters: dict[str, int] = {}
    for step in steps:
        for item in step.items:
            counters[step.instrument.key] = counters.get(step.instrument.key, 0) + 1
            numbers[item.key] = counters[step.instrument.key]
    return numbers


def review_rows(step: Step, answers: dict[str, Any], numbers: dict[str, int]) -> list[ReviewRow]:
    rows = []
    for item in step.items:
        value = answers.get(item.key)
        label = ""
        if value is not None:
            label = next((c.label for c in item.codes if c.value == value), str(value))
        rows.append(ReviewRow(item=item, number=numbers[item.key], value=value, answer_label=label))
    return rows
