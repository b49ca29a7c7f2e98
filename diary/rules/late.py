"""Honest time for a submission that arrives after its window closed. Pure: no Django, no clock.

A participant on a train presses Submit a minute before the window closes and the request
reaches the server a minute after. That submission is accepted as on time only when both
clocks vouch for it: the server saw her draft inside the window (she was filling it in then),
and the device's claimed time of the press lies inside the window and agrees with the server's
receipt within a tolerance (a clock set back cannot claim an old time). Anything else is kept,
not lost, as a late entry for the site to review; it is never counted as on time by itself.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta


class LateReason(enum.StrEnum):
    """Why a submission after the window closed was kept for review instead of accepted."""

    NO_DRAFT_IN_WINDOW = "no_draft_in_window"
    NO_DEVICE_TIME = "no_device_time"
    DEVICE_TIME_AFTER_CLOSE = "device_time_after_close"
    CLOCKS_DISAGREE = "clocks_disagree"


def late_submission_reason(
    *,
    closes_at: datetime,
    draft_seen_at: datetime | None,
    device_time: datetime | None,
    received_at: datetime,
    tolerance: timedelta,
) -> LateReason | None:
    """None when a submission received at `received_at`, after `closes_at`, counts as made in
    the window; otherwise the first reason it does not. `draft_seen_at` is when the server
    first stored her draft (None: never), `device_time` the device's claimed time of the press.
    """
    if draft_seen_at is None or draft_seen_at >= closes_at:
        return LateReason.NO_DRAFT_IN_WINDOW
    if device_time is None:
        return LateReason.NO_DEVICE_TIME
    if device_time >= closes_at:
        return LateReason.DEVICE_TIME_AFTER_CLOSE
    if abs(received_at - device_time) > tolerance:
        return LateReason.CLOCKS_DISAGREE
    return None
