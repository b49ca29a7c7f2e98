"""The CDISC ODM 1.3.2 archive of a study or of its sites: metadata, users and sites, and every
current value with its audit record. The format of the site's own copy.

Written with lxml's incremental writer rather than odmlib's object model: odmlib builds the
whole document in memory before it serialises, and an archive of 10,000 participants must
stream. The file is validated against the official XSD that odmlib ships
(tests/diary/exports/test_export_odm.py).

- Study: study events are the periods (SE.P1 ...), each with the form of the period's dates
  (F.PERIOD) and one form per instrument collected; an instrument's item groups are its pages
  (core scales, chosen modules); items and code lists carry the shipped structure's demo
  labels (scoring/instruments/), never a licensed wording loaded into the database.
- AdminData: every user who recorded a value (a participant by her pseudonymous study ID, staff
  by user name; no contact details) and every site in the file.
- ClinicalData: per participant, per reported period its dates and the answers of each
  instrument with their history (a not-answered item is ItemData IsNull="Yes"): each data
  point's first value as an ItemData with TransactionType="Insert", then each correction that
  changed it as TransactionType="Update", in the order they were made. Every ItemData has an
  AuditRecord: who recorded it, at which site, when (server time, UTC), the reason of a
  correction, a paper transcription or an import, and the source (participant_web,
  site_correction, import, ...). No other element carries a TransactionType.

`Archival="Yes"`, `FileType="Transactional"`: an archive holds the data's audit history (the
ODM specification's archive use case), so the original value of a corrected answer is in it,
not only in the audit trail. Nothing in it depends on the allocation: no sequence, treatment,
block or arm, in blinded and unblinded files alike (tests hold the file identical whatever the
allocation).

A fixed number of queries whatever the study's size: users, sites, participants, periods (with
their events in order) and every response (superseded ones too, in the order of their
corrections), the last three read with server-side cursors and merged by participant.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from itertools import groupby

from django.contrib.auth import get_user_model
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Q, TextField
from django.db.models.functions import Cast, JSONObject
from lxml import etree

from diary.exports.queries import Scope
from diary.exports.writer import ExportFile
from diary.models import (
    AuditAction,
    AuditEvent,
    MenstrualPeriod,
    Participant,
    Response,
    Site,
    Study,
)
from diary.rules import odm
from diary.rules.local_time import utc_iso
from diary.selectors.questionnaire import instruments_collected

# The events that set a period's dates, each the audit record of the values it set.
PERIOD_EVENTS = (AuditAction.PERIOD_REPORTED, AuditAction.PERIOD_CORRECTED, AuditAction.IMPORTED)
SOURCE_SYSTEM = "epro-diary"
_CHUNK = 2000


def _el(tag: str, attrib: dict[str, str] | None = None, text: str | None = None) -> etree._Element:
    element = etree.Element(odm.q(tag), {k: v for k, v in (attrib or {}).items() if v != ""})
    if text is not None:
        element.text = text
    return element


def _sub(parent, tag: str, attrib: dict[str, str] | None = None, text: str | None = None):
    element = _el(tag, attrib, text)
    parent.append(element)
    return element


def _translated(parent, tag: str, text: str, language: str) -> None:
    holder = _sub(parent, tag)
    _sub(holder, "TranslatedText", {f"{{{odm.XML_NS}}}lang": language}, text)


def study_element(study: Study) -> etree._Element:
    """The Study: the periods as study events and the instruments' shipped structure."""
    collected = instruments_collected(study=study)
    root = _el("Study", {"OID": odm.study_oid(study.code)})
    global_vars = _sub(root, "GlobalVariables")
    _sub(global_vars, "StudyName", text=study.code)
    _sub(global_vars, "StudyDescription", text=study.name)
    _sub(global_vars, "ProtocolName", text=study.code)
    version = _sub(
        root,
        "MetaDataVersion",
        {"OID": odm.metadata_oid(study.code), "Name": f"{study.code} diary design"},
    )
    protocol = _sub(version, "Protocol")
    periods = range(1, study.number_of_periods + 1)
    for number in periods:
        _sub(
            protocol,
            "StudyEventRef",
            {"StudyEventOID": odm.event_oid(number), "OrderNumber": str(number), "Mandatory": "No"},
        )
    for number in periods:
        event = _sub(
            version,
            "StudyEventDef",
            {
                "OID": odm.event_oid(number),
                "Name": f"Menstrual period {number}",
                "Repeating": "No",
                "Type": "Scheduled",
            },
        )
        _sub(event, "FormRef", {"FormOID": odm.PERIOD_FORM, "Mandatory": "Yes"})
        for instrument, _modules in collected:
            _sub(event, "FormRef", {"FormOID": odm.form_oid(instrument.key), "Mandatory": "No"})
    form = _sub(
        version, "FormDef", {"OID": odm.PERIOD_FORM, "Name": "Reported period", "Repeating": "No"}
    )
    _sub(form, "ItemGroupRef", {"ItemGroupOID": odm.PERIOD_GROUP, "Mandatory": "Yes"})
    for instrument, modules in collected:
        form = _sub(
            version,
            "FormDef",
            {
                "OID": odm.form_oid(instrument.key),
                "Name": f"{instrument.title} v{instrument.version}",
                "Repeating": "No",
            },
        )
        for page in instrument.pages(modules):
            _sub(
                form,
                "ItemGroupRef",
                {"ItemGroupOID": odm.group_oid(instrument.key, page.key), "Mandatory": "No"},
            )
    group = _sub(
        version,
        "ItemGroupDef",
        {"OID": odm.PERIOD_GROUP, "Name": "Period dates", "Repeating": "No"},
    )
    _sub(group, "ItemRef", {"ItemOID": odm.PERIOD_START, "Mandatory": "Yes"})
    _sub(group, "ItemRef", {"ItemOID": odm.PERIOD_END, "Mandatory": "No"})
    for instrument, modules in collected:
        for page in instrument.pages(modules):
            group = _sub(
                version,
                "ItemGroupDef",
                {
                    "OID": odm.group_oid(instrument.key, page.key),
                    "Name": page.label,
                    "Repeating": "No",
                },
            )
            for key in page.item_keys:
                _sub(group, "ItemRef", {"ItemOID": odm.item_oid(key), "Mandatory": "No"})
    for oid, name in (
        (odm.PERIOD_START, "First day of the period"),
        (odm.PERIOD_END, "Last day of the period"),
    ):
        item = _sub(version, "ItemDef", {"OID": oid, "Name": oid[2:], "DataType": "date"})
        _translated(item, "Question", name, "en")
    codelists: dict[tuple, str] = {}
    for instrument, modules in collected:
        for key in instrument.item_keys(modules):
            item = instrument.item(key)
            attrib = {"OID": odm.item_oid(key), "Name": key, "DataType": "integer"}
            if item.kind == "integer":
                attrib["Comment"] = f"integer {item.min_value}-{item.max_value}" + (
                    f" {item.unit}" if item.unit else ""
                )
            element = _sub(version, "ItemDef", attrib)
            _translated(element, "Question", item.label, instrument.language)
            if item.kind != "integer" and item.codes:
                codes = tuple((c.value, c.label) for c in item.codes)
                oid = codelists.setdefault(
                    (instrument.key, codes), odm.codelist_oid(instrument.key, len(codelists) + 1)
                )
                _sub(element, "CodeListRef", {"CodeListOID": oid})
    for (_instrument, codes), oid in codelists.items():
        codelist = _sub(version, "CodeList", {"OID": oid, "Name": oid, "DataType": "integer"})
        for value, label in codes:
            entry = _sub(codelist, "CodeListItem", {"CodedValue": str(value)})
            _translated(entry, "Decode", label, "en")
    return root


def _users(participants, responses, period_events) -> list[dict]:
    User = get_user_model()
    return list(
        User.objects.filter(
            Q(pk__in=participants.values("user"))
            | Q(pk__in=responses.values("submitted_by"))
            | Q(pk__in=period_events.values("actor"))
        )
        .order_by("pk")
        .values("pk", "username", "participant__subject_id")
    )


def admin_element(study: Study, users: list[dict], sites: Iterable[Site]) -> etree._Element:
    """Users by pseudonym or user name (never an e-mail address) and the sites."""
    root = _el("AdminData", {"StudyOID": odm.study_oid(study.code)})
    system = _sub(root, "User", {"OID": odm.SYSTEM_USER, "UserType": "Other"})
    _sub(system, "LoginName", text="system")
    for user in users:
        subject = user["participant__subject_id"]
        element = _sub(root, "User", {"OID": odm.user_oid(user["pk"])})
        if subject:
            _sub(element, "LoginName", text=subject)
            _sub(element, "DisplayName", text=f"Participant {subject}")
        else:
            _sub(element, "LoginName", text=user["username"])
    for site in sites:
        location = _sub(
            root,
            "Location",
            {"OID": odm.location_oid(site.code), "Name": site.name, "LocationType": "Site"},
        )
        _sub(
            location,
            "MetaDataVersionRef",
            {
                "StudyOID": odm.study_oid(study.code),
                "MetaDataVersionOID": odm.metadata_oid(study.code),
                "EffectiveDate": study.created_at.date().isoformat(),
            },
        )
    return root


def _audit(parent, *, user: str, site: str, at: datetime, reason: str, source: str) -> None:
    record = _sub(parent, "AuditRecord")
    _sub(record, "UserRef", {"UserOID": user})
    _sub(record, "LocationRef", {"LocationOID": odm.location_oid(site)})
    _sub(record, "DateTimeStamp", text=utc_iso(at))
    if reason:
        _sub(record, "ReasonForChange", text=reason)
    if source:
        _sub(record, "SourceID", text=source)


def _item(group, oid: str, value, audit: dict, transaction: str = "Insert") -> None:
    attrib = {"ItemOID": oid, "TransactionType": transaction}
    if value is None:
        attrib["IsNull"] = "Yes"
    else:
        attrib["Value"] = value.isoformat() if isinstance(value, date) else str(value)
    _audit(_sub(group, "ItemData", attrib), **audit)


def _event_audit(event: dict, site: str) -> dict:
    action = event["action"]
    reason = event.get("reason") or ""
    if action == AuditAction.PERIOD_CORRECTED and not reason:
        reason = "Dates corrected by the reporter within the correction grace time"
    return {
        "user": odm.user_oid(event["actor"]) if event.get("actor") else odm.SYSTEM_USER,
        "site": site,
        "at": datetime.fromisoformat(event["at"]),
        "reason": reason,
        "source": str(action),
    }


def _period_history(period: dict, site: str) -> dict[str, list[tuple[object, dict]]]:
    """Each date's values in order, each with the record of the event that set it: a report or
    an import sets it (details started_on / ended_on), a correction changes it (details new).
    A date no event names (data older than its events) is its current value, reported by the
    system when the period was."""
    history: dict[str, list[tuple[object, dict]]] = {"started_on": [], "ended_on": []}
    for event in period["audit_events"] or ():
        details = event.get("details") or {}
        corrected = event["action"] == AuditAction.PERIOD_CORRECTED
        given = details.get("new", {}) if corrected else details
        for name, values in history.items():
            text = given.get(name)
            if text and (not values or values[-1][0] != date.fromisoformat(text)):
                values.append((date.fromisoformat(text), _event_audit(event, site)))
    for name, values in history.items():
        if period[name] is not None and (not values or values[-1][0] != period[name]):
            values.append(
                (
                    period[name],
                    {
                        "user": odm.SYSTEM_USER,
                        "site": site,
                        "at": period["start_reported_at"],
                        "reason": "",
                        "source": str(AuditAction.PERIOD_REPORTED),
                    },
                )
            )
    return history


def _response_source(response: dict) -> str:
    if response["source"] == "import":
        return f"import:{response['metadata'].get('file_sha256', '')}"
    return response["source"]


def _response_audit(response: dict, site: str) -> dict:
    return {
        "user": odm.user_oid(response["submitted_by_id"]),
        "site": site,
        "at": response["submitted_at"],
        "reason": response["reason"],
        "source": _response_source(response),
    }


def subject_element(participant: dict, periods: list[dict], responses: list[dict], design):
    """Her SubjectData; `responses` hold every response, a correction after what it
    corrects."""
    subject = _el("SubjectData", {"SubjectKey": participant["subject_id"]})
    site = participant["site__code"]
    _sub(subject, "SiteRef", {"LocationOID": odm.location_oid(site)})
    chains: dict[tuple[int, str], list[dict]] = {}
    for response in responses:
        key = (response["assessment__period_number"], response["instrument_key"])
        chains.setdefault(key, []).append(response)
    items = 0
    for period in periods:
        event = _sub(subject, "StudyEventData", {"StudyEventOID": odm.event_oid(period["number"])})
        form = _sub(event, "FormData", {"FormOID": odm.PERIOD_FORM})
        group = _sub(form, "ItemGroupData", {"ItemGroupOID": odm.PERIOD_GROUP})
        dates = _period_history(period, site)
        for oid, name in ((odm.PERIOD_START, "started_on"), (odm.PERIOD_END, "ended_on")):
            for number, (value, audit) in enumerate(dates[name]):
                _item(group, oid, value, audit, "Update" if number else "Insert")
                items += 1
        for instrument, modules in design:
            chain = chains.get((period["number"], instrument.key))
            if not chain:
                continue
            audits = [_response_audit(response, site) for response in chain]
            form = _sub(event, "FormData", {"FormOID": odm.form_oid(instrument.key)})
            for page in instrument.pages(modules):
                group = _sub(
                    form,
                    "ItemGroupData",
                    {"ItemGroupOID": odm.group_oid(instrument.key, page.key)},
                )
                for key in page.item_keys:
                    value = chain[0]["answers"].get(key)
                    _item(group, odm.item_oid(key), value, audits[0])
                    items += 1
                    for response, audit in zip(chain[1:], audits[1:], strict=True):
                        if response["answers"].get(key) != value:
                            value = response["answers"].get(key)
                            _item(group, odm.item_oid(key), value, audit, "Update")
                            items += 1
    return subject, items


def _scoped(scope: Scope):
    participants = Participant.objects.filter(study_id=scope.study_id)
    if scope.site_ids is not None:
        participants = participants.filter(site_id__in=scope.site_ids)
    periods = MenstrualPeriod.objects.filter(participant__in=participants.values("pk"))
    responses = Response.objects.filter(
        assessment__participant__in=participants.values("pk"),
        assessment__period__isnull=False,
    )
    if scope.periods:
        periods = periods.filter(number__in=scope.periods)
        responses = responses.filter(assessment__period_number__in=scope.periods)
    if scope.statuses:
        periods = periods.filter(assessment__status__in=scope.statuses)
        responses = responses.filter(assessment__status__in=scope.statuses)
    period_events = AuditEvent.objects.filter(
        participant__in=participants.values("pk"),
        object_type=MenstrualPeriod._meta.label,
        action__in=PERIOD_EVENTS,
    )
    return participants, periods, responses, period_events


def odm_stream(study: Study, scope: Scope, out: ExportFile, *, now: datetime) -> Iterator[bytes]:
    """The archive as UTF-8 XML in chunks (one per participant); `out` counts its ItemData."""
    participants, periods, responses, period_events = _scoped(scope)
    design = instruments_collected(study=study)
    own_events = period_events.filter(object_id=Cast(OuterRef("pk"), TextField())).order_by(
        "occurred_at", "id"
    )
    period_rows = (
        periods.annotate(
            audit_events=ArraySubquery(
                own_events.values(
                    json=JSONObject(
                        actor="actor_id",
                        at="occurred_at",
                        action="action",
                        reason="reason",
                        details="details",
                    )
                )
            )
        )
        .order_by("participant__subject_id", "number")
        .values(
            "participant__subject_id",
            "number",
            "started_on",
            "ended_on",
            "start_reported_at",
            "audit_events",
        )
        .iterator(chunk_size=_CHUNK)
    )
    response_rows = (
        # A correction is made after what it corrects: its row comes later (pk).
        responses.order_by(
            "assessment__participant__subject_id", "assessment__period_number", "pk"
        )
        .values(
            "assessment__participant__subject_id",
            "assessment__period_number",
            "instrument_key",
            "answers",
            "metadata",
            "submitted_at",
            "submitted_by_id",
            "source",
            "reason",
        )
        .iterator(chunk_size=_CHUNK)
    )
    sites = Site.objects.filter(pk__in=participants.values("site")).order_by("code")
    users = _users(participants, responses, period_events)
    sink = io.BytesIO()

    def drain() -> bytes:
        data = sink.getvalue()
        sink.seek(0)
        sink.truncate()
        return out.feed(data)

    periods_by = groupby(period_rows, key=lambda row: row["participant__subject_id"])
    responses_by = groupby(
        response_rows, key=lambda row: row["assessment__participant__subject_id"]
    )
    next_periods, next_responses = next(periods_by, None), next(responses_by, None)
    items = 0
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        root_attrib = {
            "FileType": "Transactional",
            "Archival": "Yes",
            "Granularity": "All"
            if scope.site_ids is None
            else "SingleSite"
            if len(scope.site_ids) == 1
            else "All",
            "FileOID": f"ODM.{study.code}.{now:%Y%m%dT%H%M%SZ}",
            "CreationDateTime": utc_iso(now),
            "ODMVersion": odm.ODM_VERSION,
            "SourceSystem": SOURCE_SYSTEM,
            "Description": f"Archive of study {study.code}",
        }
        with xf.element(odm.q("ODM"), root_attrib, nsmap={None: odm.NS}):
            xf.write(study_element(study))
            xf.write(admin_element(study, users, sites))
            yield drain()
            clinical = {
                "StudyOID": odm.study_oid(study.code),
                "MetaDataVersionOID": odm.metadata_oid(study.code),
            }
            with xf.element(odm.q("ClinicalData"), clinical):
                for participant in (
                    participants.order_by("subject_id")
                    .values("subject_id", "site__code", "user_id")
                    .iterator(chunk_size=_CHUNK)
                ):
                    key = participant["subject_id"]
                    own_periods: list[dict] = []
                    own_responses: list[dict] = []
                    if next_periods is not None and next_periods[0] == key:
                        own_periods = list(next_periods[1])
                        next_periods = next(periods_by, None)
                    if next_responses is not None and next_responses[0] == key:
                        own_responses = list(next_responses[1])
                        next_responses = next(responses_by, None)
                    subject, written = subject_element(
                        participant, own_periods, own_responses, design
                    )
                    items += written
                    xf.write(subject)
                    xf.flush()
                    yield drain()
    yield drain()
    out.finish(items)
