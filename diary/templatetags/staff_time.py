"""How an instant reads on a staff page: in the participant's own zone, with the zone named.

    {% load staff_time %}{{ assessment.closes_at|her_time:participant.time_zone }}

gives "2026-03-10 21:00 CET": the window closed at 21:00 on her clock, which is the time the
protocol speaks of. Instants that belong to no participant are printed in UTC by Django's own
formats, which name the zone too (config/formats).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template

from diary.rules.local_time import wall_clock_label

register = template.Library()


@register.filter
def her_time(instant: datetime | None, time_zone: str) -> str:
    """`instant` on the clock of `time_zone` with the zone's abbreviation; "—" for none. A zone
    name the database no longer knows falls back to UTC, still labelled."""
    if instant is None:
        return "—"
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return wall_clock_label(instant, zone)


@register.filter
def utc_time(instant: datetime | None, precision: str = "minutes") -> str:
    """`instant` in UTC, labelled: "2026-03-10 13:07 UTC", or "2026-03-10 13:07:05 UTC" with
    "seconds" (the audit timeline)."""
    if instant is None:
        return "—"
    if precision == "seconds":
        return f"{instant.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    return wall_clock_label(instant, ZoneInfo("UTC"))
