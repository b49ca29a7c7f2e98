"""Local wall-clock time and UTC. Pure: no Django import, no clock; instants and zones given.

The one home of the conversion every window, reminder and report uses: a participant's day and
time of day are on her own calendar (Participant.time_zone), instants are stored in UTC. Files
for statisticians print instants in UTC with a Z (utc_iso, and utc_iso_sql for the rows
PostgreSQL writes itself).
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


def utc_iso(instant: datetime) -> str:
    """An aware instant as ISO 8601 in UTC ending in Z, to the microsecond when it has any
    (the audit trail's CSV, export manifests)."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_iso_sql(expr: str) -> str:
    """The SQL expression printing the timestamptz `expr` as ISO 8601 in UTC ending in Z, to the
    second (export columns: stored instants carry no meaning below a second)."""
    return f"""to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def wall_clock_label(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as read on a clock in `tz`, with the zone's abbreviation, to the minute:
    "2026-03-10 14:07 CET" (staff pages; never a bare time that could be read in another zone).
    """
    local = instant.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
