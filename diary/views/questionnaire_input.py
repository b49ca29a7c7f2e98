"""Reading questionnaire pages from a POST and laying answers out for the review screen.

Helpers of the entry views: no writes, no access checks (the views do those).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

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
# The device's clock as the diary's scripts send it with every save: milliseconds since 1970
# (JavaScript's Date.now()), digits only.
_DEVICE_MS = re.compile(r"[0-9]{1,16}")
# How far the device's claimed time may lie from what is possible: an answer is not given
# before the questionnaire opened, nor a day after the server received it. Phone clocks drift
# by minutes and outbox entries wait for hours; a clock a day off, year 1970 or 2999, is no
# measurement of anything, and the entry carrying it is refused.
DEVICE_TIME_SLACK = timedelta(hours=24)


class EntryRefused(ValueError):
    """A save that is refused as a whole, with the message to show; nothing is stored."""


def device_time(
    post: QueryDict, *, now: datetime, opens_at: datetime | None = None
) -> datetime | None:
    """The device's claimed time of the answers (`device_time`), None when none was sent.

    Raises EntryRefused for a value that is not milliseconds since 1970, or one that lies
    before the questionnaire opened (`opens_at`; for a submission, pressed now, before `now`)
    or after `now`, beyond DEVICE_TIME_SLACK.
    """
    raw = post.get("device_time", "").strip()
    if raw == "":
        return None
    refused = EntryRefused(
        _("The time your device sent with these answers is not possible, so nothing was saved.")
    )
    if not _DEVICE_MS.fullmatch(raw):
        raise refused
    try:
        claimed = datetime.fromtimestamp(int(raw) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise refused from None
    earliest = (opens_at or now) - DEVICE_TIME_SLACK
    if not earliest <= claimed <= now + DEVICE_TIME_SLACK:
        raise refused
    return claimed


def outbox_answers(step: Step, post: QueryDict) -> dict[str, Any] | None:
    """The one answer an outbox entry carries (`outbox_item` names it), None for a page save.

    Raises EntryRefused when the entry names anything but a question of this page: an entry
    edited on the device, or kept from another questionnaire.
    """
    key = post.get("outbox_item")
    if key is None:
        return None
    if key not in {item.key for item in step.items}:
        raise EntryRefused(
            _("This answer is not for a question of this page, so nothing was saved.")
        )
    return {k: v for k, v in page_answers(step, post).items() if k == key}


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
