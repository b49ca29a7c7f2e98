"""The names (OIDs) of this project's CDISC ODM 1.3.2 archive, one home for the writer
(diary.exports.odm) and the importer (diary.rules.imports).

Pure: no Django, no clock. A study event is a reported period (SE.P<n>); each holds the form of
the period's dates and one form per instrument collected; an instrument's item groups are its
pages (a core scale, or a chosen module with its gate); an item's OID is its variable name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import odmlib

NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ODM_VERSION = "1.3.2"

PERIOD_FORM = "F.PERIOD"
PERIOD_GROUP = "IG.PERIOD"
PERIOD_START = "I.period_started_on"
PERIOD_END = "I.period_ended_on"
SIGNATURE_DEF = "SD.CASEBOOK"  # the investigator's casebook signature (AdminData)
SYSTEM_USER = "USR.SYSTEM"  # the system's own writes (a window job, a command run by nobody)
_EVENT_PREFIX = "SE.P"


def q(tag: str) -> str:
    """`tag` in the ODM namespace, as lxml names it."""
    return f"{{{NS}}}{tag}"


def study_oid(code: str) -> str:
    return f"ST.{code}"


def metadata_oid(code: str) -> str:
    return f"MDV.{code}.1"


def event_oid(period: int) -> str:
    return f"{_EVENT_PREFIX}{period}"


def event_period(oid: str) -> int | None:
    """The period number of a study event OID (SE.P3 -> 3), None when it is not one."""
    number = oid.removeprefix(_EVENT_PREFIX)
    if oid.startswith(_EVENT_PREFIX) and number.isdigit() and not number.startswith("0"):
        return int(number)
    return None


def form_oid(instrument_key: str) -> str:
    return f"F.{instrument_key}"


def group_oid(instrument_key: str, page_key: str) -> str:
    return f"IG.{instrument_key}.{page_key}"


def item_oid(item_key: str) -> str:
    return f"I.{item_key}"


def user_oid(user_id: int) -> str:
    return f"USR.{user_id}"


def location_oid(site_code: str) -> str:
    return f"LOC.{site_code}"


def codelist_oid(instrument_key: str, number: int) -> str:
    return f"CL.{instrument_key}.{number}"


def form_items(
    collected: Sequence[tuple[object, tuple[str, ...]]],
) -> dict[str, tuple[str, dict[str, str]]]:
    """Form OID -> (instrument key, item OID -> item variable) of each instrument collected
    (objects with `key` and `item_keys(modules)`, scoring.definitions.Instrument)."""
    return {
        form_oid(instrument.key): (
            instrument.key,
            {item_oid(key): key for key in instrument.item_keys(modules)},
        )
        for instrument, modules in collected
    }


def schema_path() -> Path:
    """The official ODM 1.3.2 XSD as the odmlib package ships it (with the xml, xlink and
    xmldsig schemas it imports, beside it)."""
    return Path(odmlib.__file__).resolve().parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
