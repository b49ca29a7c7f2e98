"""Local wall-clock time and UTC. Pure: no Django import, no clock; instants and zones given.

The one home of the conversion every window, reminder and report uses: a participant's day and
time of day are on her own calendar (Participant.time_zone), instants are stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time; a time skipped by DST moves forward."""
    # Round-trip through UTC to normalise a non-existent local time (spring forward).
    return datetime.combine(day, at).replace(tzinfo=tz).astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins on the local calendar."""
    return local_datetime(day, time(0, 0), tz)


def local_date(now: datetime, tz: ZoneInfo) -> date:
    """The local calendar day of an (aware) instant."""
    return now.astimezone(tz).date()
