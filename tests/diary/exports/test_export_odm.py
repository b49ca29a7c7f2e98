"""The ODM 1.3.2 archive: valid against the official XSD, every value with its audit record,
nothing of the allocation, site-scoped, streamed with a fixed number of queries, audited."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from lxml import etree
from odmlib import loader, odm_loader

from diary.models import (
    SIGNATURE_MEANING,
    Allocation,
    AuditAction,
    AuditEvent,
    Participant,
    Response,
)
from diary.rules import odm
from diary.rules.local_time import utc_iso
from diary.selectors.casebook import signature_state
from diary.services.corrections import response_correct
from diary.services.exports import ExportRequest, export_start
from diary.services.periods import period_correct
from diary.services.signatures import casebook_sign
from tests.conftest import PASSWORD, make_participant
from tests.diary.exports.conftest import (
    answered_without_a_reported_period,
    ehp30_answers,
    submit_period,
)

pytestmark = pytest.mark.django_db

NS = {"odm": odm.NS}
NOW = datetime.now(UTC).replace(microsecond=0)


def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(odm.schema_path())))


def archive(user, study, **request) -> tuple[bytes, object]:
    export = export_start(
        user=user, request=ExportRequest(study=study, kinds=("odm",), **request), now=NOW
    )
    return b"".join(export.chunks), export


def item(tree, subject: str, period: int, item_oid: str):
    found = tree.xpath(
        f"//odm:SubjectData[@SubjectKey='{subject}']/odm:StudyEventData"
        f"[@StudyEventOID='SE.P{period}']//odm:ItemData[@ItemOID='{item_oid}']",
        namespaces=NS,
    )
    assert len(found) == 1, (subject, period, item_oid)
    return found[0]


def test_archive_is_valid_odm_132_with_an_audit_record_for_every_value(submitted):
    content, export = archive(submitted.statistician, submitted.study)
    tree = etree.fromstring(content)
    validator = schema()
    assert validator.validate(tree), validator.error_log
    assert tree.get("ODMVersion") == "1.3.2"
    assert tree.get("Archival") == "Yes" and tree.get("FileType") == "Transactional"
    values = tree.xpath("//odm:ItemData", namespaces=NS)
    # Two participants, one period each: start and end dates, 30 EHP-30 items, the VAS.
    assert len(values) == 2 * (2 + 30 + 1) == export.files[0].rows
    users = set(tree.xpath("//odm:AdminData/odm:User/@OID", namespaces=NS))
    locations = set(tree.xpath("//odm:AdminData/odm:Location/@OID", namespaces=NS))
    assert locations == {"LOC.S01", "LOC.S02"}
    for value in values:
        assert value.get("TransactionType") == "Insert"  # nothing was corrected
        record = value.find("odm:AuditRecord", NS)
        assert record is not None, value.get("ItemOID")
        assert record.find("odm:UserRef", NS).get("UserOID") in users
        assert record.find("odm:LocationRef", NS).get("LocationOID") in locations
        assert record.findtext("odm:DateTimeStamp", namespaces=NS).endswith("Z")
    q01 = item(tree, "S01-001", 1, "I.ehp30_q01")
    assert q01.get("Value") == "2"
    assert q01.findtext("odm:AuditRecord/odm:SourceID", namespaces=NS) == "participant_web"
    # The participant is named by her study ID; her e-mail address is nowhere.
    user = q01.find("odm:AuditRecord/odm:UserRef", NS).get("UserOID")
    login = tree.xpath(f"//odm:User[@OID='{user}']/odm:LoginName/text()", namespaces=NS)
    assert login == ["S01-001"]
    assert b"@example.org" not in content
    # Not answered is a null value, never 0.
    assert item(tree, "S01-001", 1, "I.ehp30_q03").get("IsNull") == "Yes"
    assert item(tree, "S01-001", 1, "I.vas_dysmenorrhea").get("Value") == "63"
    period = submitted.participant_a.periods.get(number=1)
    start = item(tree, "S01-001", 1, odm.PERIOD_START)
    assert start.get("Value") == period.started_on.isoformat()


def test_metadata_declares_periods_forms_groups_items_and_demo_codelists(submitted):
    content, _ = archive(submitted.statistician, submitted.study)
    tree = etree.fromstring(content)
    events = tree.xpath("//odm:StudyEventDef/@OID", namespaces=NS)
    assert events == [f"SE.P{n}" for n in range(1, submitted.study.number_of_periods + 1)]
    assert set(tree.xpath("//odm:FormDef/@OID", namespaces=NS)) == {
        "F.PERIOD",
        "F.ehp30",
        "F.vas_dysmenorrhea",
    }
    groups = tree.xpath("//odm:ItemGroupDef/@OID", namespaces=NS)
    assert "IG.ehp30.pain" in groups and "IG.ehp30.self_image" in groups
    decodes = tree.xpath(
        "//odm:CodeList/odm:CodeListItem/odm:Decode/odm:TranslatedText/text()", namespaces=NS
    )
    assert {"Never", "Rarely", "Sometimes", "Often", "Always"} <= set(decodes)
    questions = tree.xpath(
        "//odm:ItemDef[@OID='I.ehp30_q01']/odm:Question/odm:TranslatedText/text()",
        namespaces=NS,
    )
    assert questions and questions[0].startswith("[Demo]")


def test_an_independent_reader_reads_the_archive_back(submitted, tmp_path):
    content, _ = archive(submitted.statistician, submitted.study)
    path = tmp_path / "archive.xml"
    path.write_bytes(content)
    reader = loader.ODMLoader(odm_loader.XMLODMLoader(model_package="odm_1_3_2", ns_uri=odm.NS))
    reader.open_odm_document(str(path))
    document = reader.load_odm()
    assert document.Archival == "Yes"
    subjects = {s.SubjectKey: s for s in document.ClinicalData[0].SubjectData}
    assert set(subjects) == {"S01-001", "S02-001"}
    groups = subjects["S02-001"].StudyEventData[0].FormData[1].ItemGroupData
    values = {i.ItemOID: i.Value for g in groups for i in g.ItemData}
    assert values["I.ehp30_q01"] == "1"


def history(tree, subject: str, period: int, item_oid: str) -> list:
    return tree.xpath(
        f"//odm:SubjectData[@SubjectKey='{subject}']/odm:StudyEventData"
        f"[@StudyEventOID='SE.P{period}']//odm:ItemData[@ItemOID='{item_oid}']",
        namespaces=NS,
    )


def q01_correct(submitted) -> None:
    """The site corrects participant_a's EHP-30 item 1 to 4, with a reason."""
    original = Response.objects.get(
        assessment__participant=submitted.participant_a, instrument_key="ehp30"
    )
    response_correct(
        response=original,
        answers={**original.answers, "ehp30_q01": 4},
        reason="Transcription error on the paper copy",
        actor=submitted.coordinator1,
    )


def test_a_corrected_answer_keeps_its_original_value_then_the_correction(submitted):
    q01_correct(submitted)
    content, export = archive(submitted.coordinator1, submitted.study)
    tree = etree.fromstring(content)
    validator = schema()
    assert validator.validate(tree), validator.error_log
    assert tree.get("FileType") == "Transactional" and tree.get("Archival") == "Yes"
    inserted, updated = history(tree, "S01-001", 1, "I.ehp30_q01")
    # First what she answered, as she answered it on the web ...
    assert (inserted.get("TransactionType"), inserted.get("Value")) == ("Insert", "2")
    first = inserted.find("odm:AuditRecord", NS)
    assert first.find("odm:UserRef", NS).get("UserOID") == (
        f"USR.{submitted.participant_a.user_id}"
    )
    assert first.findtext("odm:SourceID", namespaces=NS) == "participant_web"
    assert first.find("odm:ReasonForChange", NS) is None
    # ... then the coordinator's correction, with her reason.
    assert (updated.get("TransactionType"), updated.get("Value")) == ("Update", "4")
    record = updated.find("odm:AuditRecord", NS)
    assert record.findtext("odm:ReasonForChange", namespaces=NS) == (
        "Transcription error on the paper copy"
    )
    assert record.find("odm:UserRef", NS).get("UserOID") == f"USR.{submitted.coordinator1.pk}"
    assert record.find("odm:LocationRef", NS).get("LocationOID") == "LOC.S01"
    assert record.findtext("odm:SourceID", namespaces=NS) == "site_correction"
    assert record.findtext("odm:DateTimeStamp", namespaces=NS) > first.findtext(
        "odm:DateTimeStamp", namespaces=NS
    )
    # An answer the correction left alone has its original value only.
    (q02,) = history(tree, "S01-001", 1, "I.ehp30_q02")
    assert q02.get("TransactionType") == "Insert"
    assert q02.find("odm:AuditRecord/odm:UserRef", NS).get("UserOID") == (
        f"USR.{submitted.participant_a.user_id}"
    )
    # Her dates, 30 EHP-30 items and the VAS, and the one correction.
    values = tree.xpath("//odm:ItemData", namespaces=NS)
    assert export.files[0].rows == len(values) == 2 + 30 + 1 + 1
    # The spec's rule: every ClinicalData element with a TransactionType has its AuditRecord.
    for element in tree.xpath("//odm:ClinicalData//*[@TransactionType]", namespaces=NS):
        assert element.find("odm:AuditRecord", NS) is not None, element.get("ItemOID")


def test_a_corrected_period_date_keeps_its_reported_value_then_the_correction(submitted):
    period = submitted.participant_a.periods.get(number=1)
    reported = period.ended_on
    period_correct(
        period=period,
        actor=submitted.participant_a.user,
        ended_on=reported - timedelta(days=1),
    )
    content, _ = archive(submitted.coordinator1, submitted.study)
    tree = etree.fromstring(content)
    assert schema().validate(tree)
    (start,) = history(tree, "S01-001", 1, odm.PERIOD_START)
    assert start.findtext("odm:AuditRecord/odm:SourceID", namespaces=NS) == "period_reported"
    inserted, updated = history(tree, "S01-001", 1, odm.PERIOD_END)
    assert (inserted.get("TransactionType"), inserted.get("Value")) == (
        "Insert",
        reported.isoformat(),
    )
    assert inserted.findtext("odm:AuditRecord/odm:SourceID", namespaces=NS) == "period_reported"
    assert (updated.get("TransactionType"), updated.get("Value")) == (
        "Update",
        (reported - timedelta(days=1)).isoformat(),
    )
    record = updated.find("odm:AuditRecord", NS)
    assert record.findtext("odm:SourceID", namespaces=NS) == "period_corrected"
    assert record.find("odm:UserRef", NS).get("UserOID") == (
        f"USR.{submitted.participant_a.user_id}"
    )
    assert record.findtext("odm:ReasonForChange", namespaces=NS).startswith("Dates corrected")


def test_blinded_archive_is_identical_whatever_the_allocation(submitted):
    blinded, _ = archive(submitted.statistician, submitted.study)
    unblinded, _ = archive(submitted.statistician, submitted.study, blinded=False)
    for forbidden in (b"Anakinra", b"Placebo", b'"AP"', b'"PA"', b"Sequence", b"Treatment"):
        assert forbidden not in blinded
    # Swap the two participants' sequences: the blinded archive does not change by a byte.
    a = Allocation.objects.get(participant=submitted.participant_a)
    b = Allocation.objects.get(participant=submitted.participant_b)
    Allocation.objects.filter(pk=a.pk).update(sequence=b.sequence)
    Allocation.objects.filter(pk=b.pk).update(sequence=a.sequence)
    swapped, _ = archive(submitted.statistician, submitted.study)
    assert swapped == blinded
    assert unblinded == blinded  # the archive never holds the allocation


def test_a_coordinator_archives_only_her_site(submitted):
    content, _ = archive(submitted.coordinator1, submitted.study)
    tree = etree.fromstring(content)
    assert tree.xpath("//odm:SubjectData/@SubjectKey", namespaces=NS) == ["S01-001"]
    assert tree.xpath("//odm:Location/@OID", namespaces=NS) == ["LOC.S01"]
    assert schema().validate(tree)


def test_the_archive_is_audited_with_its_hash(submitted):
    content, _ = archive(submitted.monitor, submitted.study)
    event = AuditEvent.objects.filter(action=AuditAction.EXPORTED).latest("id")
    assert event.details["kinds"] == ["odm"] and event.details["complete"] is True
    (entry,) = event.details["files"]
    assert entry["name"] == f"{submitted.study.code}_odm_blinded.xml"
    assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    assert event.unblinded is False


def test_queries_do_not_grow_with_participants(submitted):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            archive(submitted.statistician, submitted.study)
        return len(queries)

    count()  # her memberships are read once per user object
    few = count()
    for number in range(2, 6):
        participant = make_participant(
            submitted.study, submitted.site1, f"S01-00{number}", sequence=submitted.ap
        )
        submit_period(participant, number=1, answers=ehp30_answers(3), vas=10, days_ago=1)
    assert count() == few


def test_the_archive_bundles_with_csv_files_and_the_manifest(submitted):
    export = export_start(
        user=submitted.monitor,
        request=ExportRequest(study=submitted.study, kinds=("wide", "odm")),
        now=NOW,
    )
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(export.chunks)))
    name = f"{submitted.study.code}_odm_blinded.xml"
    assert set(bundle.namelist()) == {
        f"{submitted.study.code}_wide_blinded.csv",
        name,
        "manifest.json",
    }
    content = bundle.read(name)
    assert schema().validate(etree.fromstring(content))
    manifest = json.loads(bundle.read("manifest.json"))
    entry = next(f for f in manifest["files"] if f["name"] == name)
    assert entry["sha256"] == hashlib.sha256(content).hexdigest()


def test_manage_py_export_writes_the_archive(submitted, tmp_path):
    out = StringIO()
    call_command(
        "export",
        "--study",
        submitted.study.code,
        "--kind",
        "odm",
        "--user",
        "monitor",
        "--out",
        str(tmp_path),
        stdout=out,
    )
    path = tmp_path / f"{submitted.study.code}_odm_blinded.xml"
    assert schema().validate(etree.parse(str(path)))
    assert hashlib.sha256(path.read_bytes()).hexdigest() in out.getvalue()


def test_answers_of_a_period_never_reported_are_in_the_archive_with_their_audit(submitted):
    answered_without_a_reported_period(
        submitted.participant_a, number=2, code=3, now=NOW - timedelta(hours=2)
    )
    content, export = archive(submitted.statistician, submitted.study)
    tree = etree.fromstring(content)
    validator = schema()
    assert validator.validate(tree), validator.error_log
    (event,) = tree.xpath(
        "//odm:SubjectData[@SubjectKey='S01-001']/odm:StudyEventData[@StudyEventOID='SE.P2']",
        namespaces=NS,
    )
    # Her answers' form, and no dates form: the period's dates were never reported.
    assert [f.get("FormOID") for f in event.iterfind("odm:FormData", NS)] == ["F.ehp30"]
    q01 = item(tree, "S01-001", 2, "I.ehp30_q01")
    assert (q01.get("Value"), q01.get("TransactionType")) == ("3", "Insert")
    assert item(tree, "S01-001", 2, "I.ehp30_q05").get("IsNull") == "Yes"
    record = q01.find("odm:AuditRecord", NS)
    assert record.find("odm:UserRef", NS).get("UserOID") == (
        f"USR.{submitted.participant_a.user_id}"
    )
    assert record.findtext("odm:SourceID", namespaces=NS) == "participant_web"
    assert record.findtext("odm:DateTimeStamp", namespaces=NS) == (
        (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    # Two reported periods with dates, 30 items and the VAS; her 30 unreported-period items.
    assert export.files[0].rows == len(tree.xpath("//odm:ItemData", namespaces=NS)) == 2 * 33 + 30


def _code(device) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:06d}"


def _sign(world, device, participant, *, now, milestone=None):
    return casebook_sign(
        participant=participant,
        actor=world.investigator1,
        password=PASSWORD,
        token=_code(device),
        hash_seen=signature_state(participant=participant, milestone=milestone).current_hash,
        time_zone="Europe/Copenhagen",
        milestone=milestone,
        now=now,
    )


def signature_of(tree, subject: str):
    (data,) = tree.xpath(f"//odm:SubjectData[@SubjectKey='{subject}']", namespaces=NS)
    return data.find("odm:Signature", NS), [
        c.text for c in data.iterfind("odm:Annotation/odm:Comment", NS)
    ]


def test_a_casebook_signature_is_in_the_archive_with_meaning_time_and_signer(submitted):
    device = TOTPDevice.objects.create(user=submitted.investigator1, name="app", confirmed=True)
    signed_at = NOW - timedelta(minutes=30)
    _sign(submitted, device, submitted.participant_a, now=signed_at)
    content, _ = archive(submitted.statistician, submitted.study)
    tree = etree.fromstring(content)
    validator = schema()
    assert validator.validate(tree), validator.error_log
    signature, comments = signature_of(tree, "S01-001")
    assert signature is not None
    signer = signature.find("odm:UserRef", NS).get("UserOID")
    assert signer == f"USR.{submitted.investigator1.pk}"
    assert signature.find("odm:LocationRef", NS).get("LocationOID") == "LOC.S01"
    assert signature.findtext("odm:DateTimeStamp", namespaces=NS) == utc_iso(signed_at)
    # The signature's definition holds its meaning; the signer is among the users, by name.
    definition = signature.find("odm:SignatureRef", NS).get("SignatureOID")
    (meaning,) = tree.xpath(
        f"//odm:AdminData/odm:SignatureDef[@OID='{definition}']/odm:Meaning/text()",
        namespaces=NS,
    )
    assert meaning == SIGNATURE_MEANING
    (user,) = tree.xpath(f"//odm:AdminData/odm:User[@OID='{signer}']", namespaces=NS)
    assert user.findtext("odm:LoginName", namespaces=NS) == submitted.investigator1.username
    assert user.findtext("odm:FullName", namespaces=NS) == "Ida Nordahl"
    (comment,) = comments
    assert "Ida Nordahl" in comment and "valid" in comment and "VOID" not in comment
    # The other participant's casebook is not signed.
    assert signature_of(tree, "S02-001") == (None, [])


def test_a_signature_voided_by_a_later_change_is_not_presented_as_valid(submitted):
    device = TOTPDevice.objects.create(user=submitted.investigator1, name="app", confirmed=True)
    signature = _sign(submitted, device, submitted.participant_a, now=NOW - timedelta(hours=1))
    q01_correct(submitted)
    content, _ = archive(submitted.statistician, submitted.study)
    tree = etree.fromstring(content)
    assert schema().validate(tree)
    element, comments = signature_of(tree, "S01-001")
    assert element is None  # ODM's Signature says nothing of being void: a void one is none
    (comment,) = comments
    assert "VOID: her data changed after it was signed" in comment
    assert signature.content_hash in comment and utc_iso(signature.signed_at) in comment


def test_a_signature_at_a_milestone_holds_while_the_data_up_to_it_are_unchanged(submitted):
    study = submitted.study
    study.signing_milestones = [{"after_period": 1, "label": "After period 1"}]
    study.full_clean()
    study.save()
    participant = Participant.objects.get(pk=submitted.participant_a.pk)
    device = TOTPDevice.objects.create(user=submitted.investigator1, name="app", confirmed=True)
    signed_at = NOW - timedelta(minutes=20)
    _sign(submitted, device, participant, now=signed_at, milestone=1)
    content, _ = archive(submitted.statistician, study)
    tree = etree.fromstring(content)
    assert schema().validate(tree)
    element, comments = signature_of(tree, "S01-001")
    # Her whole casebook's hash is not the one signed: the milestone's is, and it holds.
    assert element is not None
    assert element.findtext("odm:DateTimeStamp", namespaces=NS) == utc_iso(signed_at)
    (comment,) = comments
    assert "After period 1" in comment and "period 1" in comment
    assert "valid" in comment and "VOID" not in comment
