"""When a submission that arrived after the window closed still counts as made in the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from diary.rules.late import LateReason, late_submission_reason

CLOSES = datetime(2026, 3, 29, 20, 0, tzinfo=UTC)
TOLERANCE = timedelta(minutes=5)
SEEN = CLOSES - timedelta(hours=2)


def reason(*, seen=SEEN, device=CLOSES - timedelta(seconds=30), received=None):
    return late_submission_reason(
        closes_at=CLOSES,
        draft_seen_at=seen,
        device_time=device,
        received_at=received or CLOSES + timedelta(seconds=40),
        tolerance=TOLERANCE,
    )


def test_pressed_in_the_window_and_received_just_after_counts_as_in_the_window():
    assert reason() is None


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"seen": None}, LateReason.NO_DRAFT_IN_WINDOW),
        ({"seen": CLOSES}, LateReason.NO_DRAFT_IN_WINDOW),
        ({"seen": CLOSES + timedelta(hours=1)}, LateReason.NO_DRAFT_IN_WINDOW),
        ({"device": None}, LateReason.NO_DEVICE_TIME),
        ({"device": CLOSES}, LateReason.DEVICE_TIME_AFTER_CLOSE),
        ({"device": CLOSES + timedelta(minutes=1)}, LateReason.DEVICE_TIME_AFTER_CLOSE),
        # A clock set back to claim the window: the server received it an hour later.
        ({"received": CLOSES + timedelta(hours=1)}, LateReason.CLOCKS_DISAGREE),
        ({"device": CLOSES - timedelta(minutes=6), "received": CLOSES}, LateReason.CLOCKS_DISAGREE),
    ],
)
def test_anything_else_is_kept_for_review_with_its_reason(kwargs, expected):
    assert reason(**kwargs) == expected


def test_the_tolerance_is_inclusive():
    device = CLOSES - timedelta(minutes=1)
    assert reason(device=device, received=device + TOLERANCE) is None
    assert reason(device=device, received=device + TOLERANCE + timedelta(seconds=1)) == (
        LateReason.CLOCKS_DISAGREE
    )
