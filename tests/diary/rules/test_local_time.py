"""Local wall-clock time and UTC, in one module; UTC printed with a Z in Python and SQL alike."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from diary.rules.local_time import local_date, local_datetime, utc_iso, utc_iso_sql

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def test_a_local_time_skipped_by_the_spring_change_moves_forward():
    # 30 March 2025: Copenhagen clocks jump from 02:00 to 03:00.
    assert local_datetime(date(2025, 3, 30), time(2, 30), COPENHAGEN) == datetime(
        2025, 3, 30, 1, 30, tzinfo=UTC
    )


def test_the_local_date_of_an_instant_is_on_her_calendar():
    assert local_date(datetime(2025, 3, 29, 23, 30, tzinfo=UTC), COPENHAGEN) == date(2025, 3, 30)


def test_utc_is_printed_with_a_z_whatever_the_zone_of_the_instant():
    instant = datetime(2025, 7, 1, 9, 15, 2, 120000, tzinfo=COPENHAGEN)
    assert utc_iso(instant) == "2025-07-01T07:15:02.120000Z"
    assert utc_iso(instant.replace(microsecond=0)) == "2025-07-01T07:15:02Z"


@pytest.mark.django_db
def test_the_sql_form_prints_the_same_instant_to_the_second():
    instant = datetime(2025, 10, 26, 2, 30, 59, 999999, tzinfo=COPENHAGEN)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'America/New_York'")  # the session zone plays no part
        cursor.execute(f"SELECT {utc_iso_sql('%s::timestamptz')}", [instant])
        (printed,) = cursor.fetchone()
        cursor.execute("SET TIME ZONE 'UTC'")
    assert printed == utc_iso(instant.replace(microsecond=0))
