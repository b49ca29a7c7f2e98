"""Date formats that differ from Django's (FORMAT_MODULE_PATH): every instant Django prints by
itself, in the admin's lists, its read-only fields and its history pages, names its zone.

The admin runs in UTC (TIME_ZONE), so an instant printed without a zone reads as local time to
a coordinator in Copenhagen; "T" appends the zone's abbreviation ("UTC", or "CET" where a
participant's zone is active). The participant's pages choose their own formats in the
templates and are not affected.
"""
