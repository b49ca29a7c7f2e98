"""Reading questionnaire pages from a POST and laying answers out for the review screen.

Helpers of the entry views: no writes, no access checks (the views do those).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.http import QueryDict

from diary.selectors.questionnaire import Step
from scoring.definitions import Item

# Capture details the VAS page sends with an answer (filled in by vas.js).
VAS_METADATA_FIELDS = ("client_answered_at", "viewport_width", "device_pixel_ratio", "input")
# The span around the server's clock in which the browser's "answered at" is believable: she
# may leave the page open for a while before going on, and phone clocks drift by minutes; a
# time outside it (year 0001, 2999, a clock set a day ahead) is no measurement of anything.
CLIENT_TIME_BEFORE_SERVER = timedelta(hours=24)
CLIENT_TIME_AFTER_SERVER = timedelta(minutes=10)
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
    A well-formed client time outside the plausible span around `now` is left out too, and
    `client_answered_at_rejected` records that the browser claimed one: the server's time is
    the only time kept then.
    """
    metadata: dict[str, Any] = {"server_saved_at": now.isoformat()}
    for name in VAS_METADATA_FIELDS:
        value = post.get(f"meta_{name}", "").strip()
        if _SAFE_META.match(value) and _META_PLAUSIBLE[name](value):
            metadata[name] = value
    claimed = metadata.get("client_answered_at")
    if claimed is not None and not client_time_plausible(claimed, now=now):
        del metadata["client_answered_at"]
        metadata["client_answered_at_rejected"] = True
    return metadata


def client_time_plausible(value: str, *, now: datetime) -> bool:
    """Whether a time-zone-aware ISO time the browser sent lies in the span around `now`."""
    try:
        claimed = datetime.fromisoformat(value)
        return now - CLIENT_TIME_BEFORE_SERVER <= claimed <= now + CLIENT_TIME_AFTER_SERVER
    except (ValueError, OverflowError):
        return False


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
