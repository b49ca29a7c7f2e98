"""Round trip: the demo study's ODM archive, imported into an empty study of the same design,
exports again with the same clinical content; and the ODM import's own refusals."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from lxml import etree

from diary.models import (
    AuditAction,
    AuditEvent,
    ImportBatch,
    Response,
    Sequence,
    SequenceBlock,
    Site,
    StaffMembership,
    StaffRole,
    Study,
    Treatment,
)
from diary.rules import odm
from diary.services.corrections import response_correct
from diary.services.exports import ExportRequest, export_start
from diary.services.imports import study_data_import
from diary.services.staff import staff_groups_sync
from tests.conftest import make_participant, make_staff
from tests.diary.exports.conftest import answered_without_a_reported_period

pytestmark = pytest.mark.django_db

NS = {"odm": odm.NS}
DESIGN = [
    "number_of_periods",
    "periods_per_block",
    "time_zone",
    "instruments",
    "instrument_modules",
    "missing_item_rule",
    "window_fallback_open_days",
    "window_length_days",
    "window_close_time",
    "backdating_limit_days",
    "subject_id_pattern",
    "subject_id_example",
]


def archive_of(study: Study, user) -> bytes:
    export = export_start(user=user, request=ExportRequest(study=study, kinds=("odm",)))
    return b"".join(export.chunks)


def clinical_content(content: bytes) -> list[tuple]:
    """Every data point of the ClinicalData with its final value: subject, period, form,
    group, item, value or null; a Transactional file's instructions applied in order."""
    final: dict[tuple, tuple] = {}
    for row in transactions(content):
        final[row[:5]] = row[5:7]
    return [(*point, *value) for point, value in final.items()]


def transactions(content: bytes) -> list[tuple]:
    """Every ItemData in document order: subject, period, form, group, item, value, null,
    transaction type."""
    tree = etree.fromstring(content)
    rows = []
    for value in tree.iterfind(".//odm:ItemData", NS):
        group = value.getparent()
        form = group.getparent()
        event = form.getparent()
        subject = event.getparent()
        rows.append(
            (
                subject.get("SubjectKey"),
                event.get("StudyEventOID"),
                form.get("FormOID"),
                group.get("ItemGroupOID"),
                value.get("ItemOID"),
                value.get("Value"),
                value.get("IsNull"),
                value.get("TransactionType"),
            )
        )
    return rows


@pytest.fixture
def copy(trial):
    """An empty study of the demo's design: its sites, treatments and sequences, and each of
    its participants enrolled (when she was in the demo) and randomised as there."""
    study = Study.objects.create(
        code="COPY-1", name="Copy", **{f: getattr(trial, f) for f in DESIGN}
    )
    for site in trial.sites.all():
        Site.objects.create(study=study, code=site.code, name=site.name)
    treatments = {
        t.code: Treatment.objects.create(study=study, code=t.code, name=t.name)
        for t in trial.treatments.all()
    }
    sequences = {}
    for sequence in trial.sequences.all():
        sequences[sequence.code] = Sequence.objects.create(study=study, code=sequence.code)
        for block in sequence.blocks.all():
            SequenceBlock.objects.create(
                sequence=sequences[sequence.code],
                block=block.block,
                treatment=treatments[block.treatment.code],
            )
    for participant in trial.participants.select_related("site").order_by("subject_id"):
        allocation = getattr(participant, "allocation", None)
        make_participant(
            study,
            study.sites.get(code=participant.site.code),
            participant.subject_id,
            sequence=sequences[allocation.sequence.code] if allocation else None,
            time_zone=participant.time_zone,
            now=participant.enrolled_at,
            email=f"copy-{participant.subject_id.lower()}@example.org",
        )
    importer = make_staff("importer")
    StaffMembership.objects.create(user=importer, study=study, role=StaffRole.COORDINATOR)
    staff_groups_sync(user=importer)
    return study, importer


def test_exported_archive_imported_into_a_copy_exports_the_same_clinical_content(trial, copy):
    study, importer = copy
    statistician = trial.memberships.get(role="statistician").user
    coordinator = trial.memberships.filter(role="coordinator").first().user
    answered = (
        Response.objects.filter(
            assessment__participant__study=trial,
            assessment__participant__site__code="S01",
            instrument_key="ehp30",
            answers__ehp30_q01__isnull=False,
        )
        .order_by("assessment__participant__subject_id", "assessment__period_number")
        .first()
    )
    was = answered.answers["ehp30_q01"]
    response_correct(
        response=answered,
        answers={**answered.answers, "ehp30_q01": (was + 1) % 5},
        reason="Misread tick box on the paper copy",
        actor=coordinator,
    )
    first = archive_of(trial, statistician)
    original = clinical_content(first)
    assert len(original) > 1000  # the demo's periods and answers
    point = (
        answered.assessment.participant.subject_id,
        f"SE.P{answered.assessment.period_number}",
        "F.ehp30",
        "IG.ehp30.pain",
        "I.ehp30_q01",
    )
    # The archive holds the answer as she gave it, then the correction.
    assert [row[5:] for row in transactions(first) if row[:5] == point] == [
        (str(was), None, "Insert"),
        (str((was + 1) % 5), None, "Update"),
    ]
    report = study_data_import(
        study=study, actor=importer, file_name="ENDO-ANK_odm.xml", content=first
    )
    assert report.ok, report.errors[:5]
    # The importer takes a corrected answer's final value, says so, and keeps its history as
    # data: the correction is not replayed as a site correction of the importer's.
    assert report.corrected == 1
    assert any("1 corrected in the file: final value imported" in line
               for line in report.preview)  # fmt: skip
    copied = Response.objects.get(
        assessment__participant__study=study,
        assessment__participant__subject_id=point[0],
        assessment__period_number=answered.assessment.period_number,
        instrument_key="ehp30",
    )
    assert copied.answers["ehp30_q01"] == (was + 1) % 5
    assert [
        (step["value"], step["transaction"], step["reason"])
        for step in copied.metadata["file_history"]["ehp30_q01"]
    ] == [
        (str(was), "Insert", ""),
        (str((was + 1) % 5), "Update", "Misread tick box on the paper copy"),
    ]
    assert copied.metadata["file_history"]["ehp30_q01"][1]["by"] == coordinator.username
    assert (
        report.responses
        == Response.objects.filter(assessment__participant__study=trial)
        .exclude(superseded_by__isnull=False)
        .count()
    )
    second = archive_of(study, importer)
    assert clinical_content(second) == original
    # The copy says where its values came from: the file, the importer, the time of import.
    tree = etree.fromstring(second)
    sha = hashlib.sha256(first).hexdigest()
    records = tree.xpath("//odm:ItemData/odm:AuditRecord", namespaces=NS)
    sources = {r.findtext("odm:SourceID", namespaces=NS) for r in records}
    assert sources == {f"import:{sha}", str(AuditAction.IMPORTED)}
    assert {r.find("odm:UserRef", NS).get("UserOID") for r in records} == {f"USR.{importer.pk}"}
    # Imported answers keep their original time and author as data.
    imported = Response.objects.filter(assessment__participant__study=study)
    assert imported.filter(metadata__original_recorded_at__isnull=False).count() == (
        imported.count()
    )
    assert not imported.filter(submitted_at__lt=F("assessment__participant__enrolled_at")).exists()
    # The same file again changes nothing; the copy's own archive holds nothing new either.
    assert (
        study_data_import(study=study, actor=importer, file_name="again.xml", content=first).already
        == ImportBatch.objects.get()
    )
    again = study_data_import(study=study, actor=importer, file_name="copy.xml", content=second)
    assert again.ok and (again.periods, again.responses) == (0, 0)
    assert ImportBatch.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.IMPORTED, participant=None).count() == 1


def test_odm_with_an_unknown_item_or_a_bad_code_is_refused_by_element(trial, copy):
    study, importer = copy
    statistician = trial.memberships.get(role="statistician").user
    tree = etree.fromstring(archive_of(trial, statistician))
    first = tree.xpath("//odm:ItemData[@ItemOID='I.ehp30_q05'][@Value]", namespaces=NS)[0]
    first.set("Value", "7")
    subject = first.xpath("ancestor::odm:SubjectData/@SubjectKey", namespaces=NS)[0]
    other = tree.xpath("//odm:ItemData[@ItemOID='I.ehp30_q06']", namespaces=NS)[0]
    other.set("ItemOID", "I.ehp30_q99")
    report = study_data_import(
        study=study, actor=importer, file_name="edited.xml", content=etree.tostring(tree)
    )
    assert any(
        f": {subject} period " in e and "ehp30_q05: int 7 is not a valid answer" in e
        for e in report.errors
    ), report.errors
    assert any("unknown item I.ehp30_q99 in form F.ehp30" in e for e in report.errors)
    assert all(e.startswith("line ") for e in report.errors)
    assert not Response.objects.filter(assessment__participant__study=study).exists()
    assert not ImportBatch.objects.exists()


def test_a_transaction_out_of_order_is_refused_by_element(trial, copy):
    study, importer = copy
    statistician = trial.memberships.get(role="statistician").user
    tree = etree.fromstring(archive_of(trial, statistician))
    # An Update before any value of the item, and a second Insert of another.
    update = tree.xpath("//odm:ItemData[@ItemOID='I.ehp30_q05']", namespaces=NS)[0]
    update.set("TransactionType", "Update")
    insert = tree.xpath("//odm:ItemData[@ItemOID='I.ehp30_q06']", namespaces=NS)[0]
    twice = etree.fromstring(etree.tostring(insert))
    insert.addnext(twice)
    report = study_data_import(
        study=study, actor=importer, file_name="edited.xml", content=etree.tostring(tree)
    )
    assert any("Update of item I.ehp30_q05 before any value of it" in e for e in report.errors)
    assert any("duplicate item I.ehp30_q06" in e for e in report.errors), report.errors
    assert all(e.startswith("line ") for e in report.errors)
    assert not Response.objects.filter(assessment__participant__study=study).exists()


def test_the_command_says_a_corrected_answer_is_imported_with_its_final_value(
    trial, copy, tmp_path
):
    study, importer = copy
    answered = (
        Response.objects.filter(assessment__participant__study=trial, instrument_key="ehp30")
        .order_by("pk")
        .first()
    )
    response_correct(
        response=answered,
        answers={**answered.answers, "ehp30_q02": 4 if answered.answers["ehp30_q02"] != 4 else 0},
        reason="Misread tick box on the paper copy",
        actor=trial.memberships.filter(role="coordinator").first().user,
    )
    path = tmp_path / "archive.xml"
    path.write_bytes(archive_of(trial, trial.memberships.get(role="statistician").user))
    out = StringIO()
    call_command("import_study_data", "--study", study.code, "--user", importer.username,
                 "--check", str(path), stdout=out)  # fmt: skip
    assert "1 data points were corrected in the file" in out.getvalue()
    assert "corrected in the file: final value imported" in out.getvalue()
    assert not Response.objects.filter(assessment__participant__study=study).exists()


def test_answers_of_a_period_never_reported_are_refused_by_element_and_nothing_is_stored(
    trial, copy
):
    """The archive holds them (a study event without the dates form); the diary opens a
    questionnaire only after its period is reported, so the import cannot take them and
    says where they are."""
    study, importer = copy
    participant = (
        trial.participants.filter(status="active", assessments__period__isnull=True)
        .order_by("subject_id")
        .first()
    )
    number = (
        participant.assessments.filter(period__isnull=True).order_by("period_number").first()
    ).period_number
    answered_without_a_reported_period(participant, number=number, code=2, now=timezone.now())
    content = archive_of(trial, trial.memberships.get(role="statistician").user)
    tree = etree.fromstring(content)
    (event,) = tree.xpath(
        f"//odm:SubjectData[@SubjectKey='{participant.subject_id}']"
        f"/odm:StudyEventData[@StudyEventOID='SE.P{number}']",
        namespaces=NS,
    )
    report = study_data_import(study=study, actor=importer, file_name="a.xml", content=content)
    assert report.errors == [
        f"line {event.sourceline}: {participant.subject_id} period {number}: answers of a "
        f"period whose dates were never reported (no {odm.PERIOD_FORM} form): the diary takes "
        "answers only for a reported period; report the period, then import its answers"
    ]
    assert not Response.objects.filter(assessment__participant__study=study).exists()
    assert not ImportBatch.objects.exists()
