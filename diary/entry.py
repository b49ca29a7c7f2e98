"""Reading questionnaire pages from a POST and laying answers out for the review screen.

Helpers of the entry views: no writes, no access checks (the views do those).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import QueryDict

from diary.selectors import Step
from scoring.definitions import Item

# Capture details the VAS page sends with an answer (filled in by vas.js).
VAS_METADATA_FIELDS = ("client_answered_at", "viewport_width", "device_pixel_ratio", "input")
_SAFE_META = re.compile(r"^[A-Za-z0-9:.+\-TZ_]{1,40}$")


def page_answers(step: Step, post: QueryDict) -> dict[str, Any]:
    """variable -> int, None (blank) or the raw text, which draft_save refuses with a message."""
    answers: dict[str, Any] = {}
    for item in step.items:
        raw = post.get(item.key, "").strip()
        if raw == "":
            answers[item.key] = None
        else:
            try:
                answers[item.key] = int(raw)
            except ValueError:
                answers[item.key] = raw
    cleared = post.get("clear", "")
    if cleared in answers:
        answers[cleared] = None
    return answers


def vas_metadata(post: QueryDict, *, now: datetime) -> dict[str, Any]:
    """How the VAS answer was captured; the server's own time is stamped too."""
    metadata: dict[str, Any] = {"server_saved_at": now.isoformat()}
    for name in VAS_METADATA_FIELDS:
        value = post.get(f"meta_{name}", "").strip()
        if _SAFE_META.match(value):
            metadata[name] = value
    return metadata


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
