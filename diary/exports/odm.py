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
- AdminData: every user who recorded a value or signed a casebook (a participant by her
  pseudonymous study ID, staff by user name; no contact details) and every site in the file.
- AdminData also holds the definition of the investigator's casebook signature (SignatureDef
  SD.CASEBOOK: Methodology Electronic, its Meaning and LegalReason); a staff user is named by
  user name and full name (a signer's printed name).
- ClinicalData: per participant, per period her dates (the F.PERIOD form) and the answers of
  each instrument with their history (a not-answered item is ItemData IsNull="Yes"): each data
  point's first value as an ItemData with TransactionType="Insert", then each correction that
  changed it as TransactionType="Update", in the order they were made. A questionnaire answered
  in a period whose dates were never reported (Assessment.period is nullable) is a study event
  with the instrument forms and no F.PERIOD form (F.PERIOD stays Mandatory: that event is
  incomplete, and the import refuses it, diary.rules.imports). Every ItemData has an
  AuditRecord: who recorded it, at which site, when (server time, UTC), the reason of a
  correction, a paper transcription or an import, and the source (participant_web,
  site_correction, import, ...). No other element carries a TransactionType.
- Casebook signatures (issue 17, 21 CFR Part 11): ODM 1.3.2 gives a SubjectData one Signature
  (UserRef the signer, LocationRef her site, SignatureRef SD.CASEBOOK, DateTimeStamp) and no
  way to say that a signature no longer holds. The Signature is therefore her latest signature
  only while it holds (the hash of her casebook now is the one signed, the rule of
  diary.selectors.casebook); each of her signatures, valid or void, is also an Annotation of
  the SubjectData whose Comment gives the printed name, the time (UTC and the signer's zone),
  the meaning, the SHA-256 it is bound to and "valid" or "VOID". A void signature is never
  written as a Signature.

`Archival="Yes"`, `FileType="Transactional"`: an archive holds the data's audit history (the
ODM specification's archive use case), so the original value of a corrected answer is in it,
not only in the audit trail. Nothing in it depends on the allocation: no sequence, treatment,
block or arm, in blinded and unblinded files alike (tests hold the file identical whatever the
allocation).

A fixed number of queries whatever the study's size: users, sites, participants, periods,
their audit events and every response (superseded ones too, in the order of their
corrections), and the signatures, the last five read with server-side cursors and merged by
participant; plus, per participant with a signature, the reads of her casebook that its hash
needs. The clinical data are written as text (escaped as libxml2 escapes), not as an lxml
tree per value: bench/bench_export.py measured the element tree at two thirds of the time.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from lxml import etree

from diary.exports.odm_subject import CHUNK, SignaturesXml, merged, subject_xml
from diary.exports.queries import Scope
from diary.exports.writer import ExportFile
from diary.models import (
    SIGNATURE_MEANING,
    AuditAction,
    AuditEvent,
    CasebookSignature,
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
SIGNATURE_LEGAL_REASON = (
    "Electronic signature of the investigator under 21 CFR Part 11 (11.50, 11.70, 11.200): "
    "signed after re-authentication with password and second factor, bound to the SHA-256 "
    "of the participant's whole casebook as signed"
)


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


def _users(participants, responses, period_events, signatures) -> list[dict]:
    User = get_user_model()
    return list(
        User.objects.filter(
            Q(pk__in=participants.values("user"))
            | Q(pk__in=responses.values("submitted_by"))
            | Q(pk__in=period_events.values("actor"))
            | Q(pk__in=signatures.values("signed_by"))
        )
        .order_by("pk")
        .values("pk", "username", "first_name", "last_name", "participant__subject_id")
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
            # Staff by their printed name too (a signature's signer); never a participant's.
            full_name = f"{user['first_name']} {user['last_name']}".strip()
            if full_name:
                _sub(element, "FullName", text=full_name)
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
    definition = _sub(root, "SignatureDef", {"OID": odm.SIGNATURE_DEF, "Methodology": "Electronic"})
    _sub(definition, "Meaning", text=SIGNATURE_MEANING)
    _sub(definition, "LegalReason", text=SIGNATURE_LEGAL_REASON)
    return root


def _scoped(scope: Scope):
    participants = Participant.objects.filter(study_id=scope.study_id)
    if scope.site_ids is not None:
        participants = participants.filter(site_id__in=scope.site_ids)
    periods = MenstrualPeriod.objects.filter(participant__in=participants.values("pk"))
    # Every response, whether or not its period was reported (Assessment.period is nullable).
    responses = Response.objects.filter(assessment__participant__in=participants.values("pk"))
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
        object_id__in=periods.annotate(key=Cast("pk", TextField())).values("key"),
    )
    signatures = CasebookSignature.objects.filter(participant__in=participants.values("pk"))
    return participants, periods, responses, period_events, signatures


def odm_stream(study: Study, scope: Scope, out: ExportFile, *, now: datetime) -> Iterator[bytes]:
    """The archive as UTF-8 XML in chunks (one per participant); `out` counts its ItemData."""
    participants, periods, responses, period_events, signatures = _scoped(scope)
    design = instruments_collected(study=study)
    period_rows = (
        periods.order_by("participant__subject_id", "number")
        .values(
            "pk",
            "participant__subject_id",
            "number",
            "started_on",
            "ended_on",
            "start_reported_at",
        )
        .iterator(chunk_size=CHUNK)
    )
    event_rows = (
        period_events.order_by("participant__subject_id", "occurred_at", "id")
        .values(
            "participant__subject_id",
            "object_id",
            "actor_id",
            "occurred_at",
            "action",
            "reason",
            "details",
        )
        .iterator(chunk_size=CHUNK)
    )
    response_rows = (
        # A correction is made after what it corrects: its row comes later (pk).
        responses.order_by("assessment__participant__subject_id", "assessment__period_number", "pk")
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
        .iterator(chunk_size=CHUNK)
    )
    signature_rows = SignaturesXml(signatures)
    sites = Site.objects.filter(pk__in=participants.values("site")).order_by("code")
    users = _users(participants, responses, period_events, signatures)
    sink = io.BytesIO()

    def drain() -> bytes:
        data = sink.getvalue()
        sink.seek(0)
        sink.truncate()
        return out.feed(data)

    periods_of = merged(period_rows, "participant__subject_id")
    events_of = merged(event_rows, "participant__subject_id")
    responses_of = merged(response_rows, "assessment__participant__subject_id")
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
                xf.flush()
                for participant in (
                    participants.order_by("subject_id")
                    .values("pk", "subject_id", "site__code", "user_id")
                    .iterator(chunk_size=CHUNK)
                ):
                    key = participant["subject_id"]
                    text, written = subject_xml(
                        participant,
                        periods_of(key),
                        responses_of(key),
                        design,
                        events=events_of(key),
                        signatures=signature_rows.xml(participant),
                    )
                    items += written
                    # The ClinicalData's start tag is flushed: her SubjectData follows it in
                    # the default namespace the root declared, on a line of its own (an
                    # importer's messages name the line).
                    sink.write(b"\n" + text.encode("utf-8"))
                    yield drain()
    yield drain()
    out.finish(items)
